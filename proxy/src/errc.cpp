#include "purser/proxy/errc.hpp"

#include <string>

namespace purser::proxy {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "proxy"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::unknown_option: return "unknown option";
            case errc::invalid_option: return "invalid option value";
            case errc::config_file: return "cannot load config file";
            case errc::ca_failure: return "certificate authority failure";
            case errc::listen_failed: return "cannot listen";
            case errc::invalid_url: return "invalid URL";
        }
        return "unknown proxy error";
    }
};

}  // namespace

const std::error_category& proxy_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), proxy_category()};
}

}  // namespace purser::proxy
