#include "purser/protocol/errc.hpp"

#include "purser/protocol/result.hpp"

namespace purser {

std::string error::message() const {
    std::string out = code.category().name();
    out += ": ";
    out += code.message();
    if (!detail.empty()) {
        out += ": ";
        out += detail;
    }
    return out;
}

}  // namespace purser

namespace purser::protocol {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "protocol"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::invalid_hex: return "invalid hex";
            case errc::invalid_base64: return "invalid base64";
            case errc::invalid_decimal: return "invalid decimal integer";
            case errc::overflow: return "number too large";
            case errc::underflow: return "number would go below zero";
            case errc::too_many_decimals: return "too many decimal places";
            case errc::invalid_json: return "invalid JSON";
            case errc::missing_field: return "missing field";
            case errc::wrong_type: return "wrong type";
            case errc::invalid_value: return "invalid value";
            case errc::unsupported_version: return "unsupported x402 version";
            case errc::unsupported_scheme: return "unsupported scheme";
            case errc::unknown_network: return "unknown network";
            case errc::invalid_address: return "invalid address";
            case errc::too_large: return "input too large";
            case errc::empty_accepts: return "no payment offers";
            case errc::no_supported_offer: return "no supported offer";
            case errc::invalid_typed_data: return "invalid EIP-712 typed data";
            case errc::invalid_host: return "invalid host";
            case errc::invalid_url: return "invalid URL";
        }
        return "unknown protocol error";
    }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), protocol_category()};
}

}  // namespace purser::protocol
