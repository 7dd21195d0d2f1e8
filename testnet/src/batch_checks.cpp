#include "batch_checks.hpp"

#include "purser/protocol/eip712.hpp"
#include "purser/testnet/accounts.hpp"

namespace purser::testnet::detail {

std::optional<std::string> channel_config_mismatch(std::uint64_t chain_id, const protocol::channel_config& cfg,
                                                   const protocol::bytes32& id, const channel_terms& terms) {
    if (protocol::channel_id(chain_id, cfg) != id) return "channel_id_mismatch";
    return channel_terms_mismatch(cfg, terms);
}

std::optional<std::string> channel_terms_mismatch(const protocol::channel_config& cfg,
                                                  const channel_terms& terms) {
    if (!terms.token || cfg.token != *terms.token) return "token_mismatch";
    if (!terms.receiver || cfg.receiver != *terms.receiver) return "receiver_mismatch";
    if (!terms.receiver_authorizer || cfg.receiver_authorizer != *terms.receiver_authorizer) {
        return "receiver_authorizer_mismatch";
    }
    if (!terms.withdraw_delay || *terms.withdraw_delay != protocol::uint256{cfg.withdraw_delay}) {
        return "withdraw_delay_mismatch";
    }
    if (cfg.withdraw_delay < 900 || cfg.withdraw_delay > 2592000) return "withdraw_delay_out_of_range";
    return std::nullopt;
}

bool voucher_signed_by_payer(std::uint64_t chain_id, const protocol::channel_config& cfg, const protocol::bytes32& id,
                             const protocol::uint256& max, protocol::byte_view signature) {
    if (!max.fits_bits(128)) return false;
    auto digest = protocol::eip712::hash_typed_data(protocol::voucher_typed_data(chain_id, id, max));
    if (!digest) return false;
    auto signer = recover_signer(*digest, signature);
    const protocol::address& expected = cfg.payer_authorizer.is_zero() ? cfg.payer : cfg.payer_authorizer;
    return signer && *signer == expected;
}

}  // namespace purser::testnet::detail
