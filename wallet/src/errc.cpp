#include "purser/wallet/errc.hpp"

#include <string>

namespace purser::wallet {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "wallet"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::bad_key: return "invalid private key";
            case errc::wrong_password: return "wrong password";
            case errc::bad_keystore: return "invalid keystore";
            case errc::unsupported_kdf: return "unsupported keystore encryption";
            case errc::signing_failed: return "signing failed";
            case errc::bad_signature: return "invalid signature";
            case errc::io_error: return "I/O error";
            case errc::unsupported_offer: return "offer cannot be signed";
            case errc::rng_failed: return "random number generator failed";
            case errc::already_exists: return "file already exists";
            case errc::harden_failed: return "cannot protect the process's secrets";
        }
        return "unknown wallet error";
    }
};

}  // namespace

const std::error_category& wallet_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), wallet_category()};
}

}  // namespace purser::wallet
