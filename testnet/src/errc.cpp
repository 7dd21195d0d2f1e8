#include "purser/testnet/errc.hpp"

namespace purser::testnet {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "testnet"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::storage: return "chain storage failed";
            case errc::invalid_signature: return "invalid signature";
            case errc::authorization_not_yet_valid: return "authorization is not yet valid";
            case errc::authorization_expired: return "authorization is expired";
            case errc::authorization_used: return "authorization is used or canceled";
            case errc::insufficient_balance: return "transfer amount exceeds balance";
            case errc::caller_not_payee: return "caller must be the payee";
            case errc::wrong_token: return "unknown token";
            case errc::channel_not_found: return "channel not found";
            case errc::claim_out_of_range: return "claim out of range";
            case errc::refund_nonce_mismatch: return "refund nonce mismatch";
            case errc::not_authorized: return "caller not authorized";
            case errc::withdraw_not_ready: return "withdrawal not ready";
            case errc::withdraw_exceeds_available: return "withdrawal exceeds available balance";
            case errc::nothing_to_settle: return "nothing to settle";
            case errc::invalid_request: return "invalid request";
            case errc::overflow: return "amount overflow";
            case errc::unavailable: return "service unavailable";
        }
        return "unknown testnet error";
    }
};

}  // namespace

const std::error_category& testnet_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), testnet_category()}; }

}  // namespace purser::testnet
