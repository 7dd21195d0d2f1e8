#include "purser/wallet/batch.hpp"

#include "offer_fields.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/result.hpp"
#include "purser/wallet/errc.hpp"
#include "purser/wallet/exact.hpp"

namespace purser::wallet {
namespace {

using protocol::ojson;

result<std::uint64_t> withdraw_delay_of(const ojson& extra) {
    auto it = extra.find("withdrawDelay");
    if (it == extra.end()) return fail(errc::unsupported_offer, "extra.withdrawDelay missing");
    std::uint64_t v = 0;
    if (it->is_number_unsigned()) {
        v = it->get<std::uint64_t>();
    } else if (it->is_string()) {
        auto parsed = protocol::uint256::from_decimal(it->get<std::string>());
        if (!parsed || !parsed->fits_bits(64)) {
            return fail(errc::unsupported_offer, "extra.withdrawDelay is not a number of seconds");
        }
        v = parsed->low64();
    } else {
        return fail(errc::unsupported_offer, "extra.withdrawDelay is not a number of seconds");
    }
    if (v < min_withdraw_delay || v > max_withdraw_delay) {
        return fail(errc::unsupported_offer, "extra.withdrawDelay must be 900..2592000 seconds");
    }
    return v;
}

ojson config_json(const protocol::channel_config& c) {
    ojson j;
    j["payer"] = c.payer.to_checksum();
    j["payerAuthorizer"] = c.payer_authorizer.to_checksum();
    j["receiver"] = c.receiver.to_checksum();
    j["receiverAuthorizer"] = c.receiver_authorizer.to_checksum();
    j["token"] = c.token.to_checksum();
    j["withdrawDelay"] = c.withdraw_delay;
    j["salt"] = protocol::to_hex(c.salt);
    return j;
}

result<void> check_uint128(const protocol::uint256& v, const char* what) {
    if (!v.fits_bits(128)) return fail(errc::unsupported_offer, std::string(what) + " exceeds uint128");
    return {};
}

}  // namespace

result<batch_channel> make_batch_channel(const protocol::address& payer,
                                         const protocol::payment_requirements& offer,
                                         const protocol::network_registry& registry,
                                         const protocol::bytes32& salt) {
    if (offer.scheme != "batch-settlement") {
        return fail(errc::unsupported_offer, "scheme " + offer.scheme + " is not batch-settlement");
    }
    if (!offer.extra.is_object()) return fail(errc::unsupported_offer, "extra missing");
    batch_channel ch;
    PURSER_TRY(chain, evm_chain_id_of(offer.network, registry));
    ch.chain_id = chain;
    auto ra = offer.extra.find("receiverAuthorizer");
    if (ra == offer.extra.end() || !ra->is_string()) {
        return fail(errc::unsupported_offer, "extra.receiverAuthorizer missing");
    }
    PURSER_TRY(receiver_authorizer,
               detail::offer_address(ra->get<std::string>(), "extra.receiverAuthorizer"));
    if (receiver_authorizer.is_zero()) {
        return fail(errc::unsupported_offer, "extra.receiverAuthorizer must not be the zero address");
    }
    PURSER_TRY(delay, withdraw_delay_of(offer.extra));
    PURSER_TRY(receiver, detail::offer_address(offer.pay_to, "payTo"));
    PURSER_TRY(token, detail::offer_address(offer.asset, "asset"));

    ch.config.payer = payer;
    ch.config.payer_authorizer = payer;
    ch.config.receiver = receiver;
    ch.config.receiver_authorizer = receiver_authorizer;
    ch.config.token = token;
    ch.config.withdraw_delay = delay;
    ch.config.salt = salt;
    ch.id = protocol::channel_id(chain, ch.config);
    // The token domain is only needed for deposits; a voucher-only offer may omit it.
    if (auto d = offer_token_domain(offer, registry)) ch.token_domain = std::move(*d);
    return ch;
}

protocol::bytes32 indexed_salt(std::uint32_t index) {
    protocol::bytes32 salt{};
    for (std::size_t i = 0; i < 4; ++i) {
        salt[salt.size() - 1 - i] = static_cast<std::uint8_t>(index >> (8 * i));
    }
    return salt;
}

batch_channel with_salt(batch_channel channel, const protocol::bytes32& salt) {
    channel.config.salt = salt;
    channel.id = protocol::channel_id(channel.chain_id, channel.config);
    return channel;
}

result<signed_voucher> sign_voucher(signer& s, std::uint64_t chain_id,
                                    const protocol::bytes32& channel_id,
                                    const protocol::uint256& max_claimable) {
    PURSER_CHECK(check_uint128(max_claimable, "maxClaimableAmount"));
    PURSER_TRY(sig, sign_typed_data(s, protocol::voucher_typed_data(chain_id, channel_id,
                                                                    max_claimable)));
    return signed_voucher{channel_id, max_claimable, sig};
}

result<signature> sign_refund(signer& s, std::uint64_t chain_id, const protocol::bytes32& channel_id,
                              const protocol::uint256& nonce, const protocol::uint256& amount) {
    PURSER_CHECK(check_uint128(amount, "refund amount"));
    return sign_typed_data(s, protocol::refund_typed_data(chain_id, channel_id, nonce, amount));
}

result<signed_deposit> sign_deposit(signer& s, const batch_channel& channel,
                                    const protocol::uint256& amount,
                                    const deposit_options& options) {
    if (amount.is_zero()) return fail(errc::unsupported_offer, "deposit amount is zero");
    PURSER_CHECK(check_uint128(amount, "deposit amount"));
    if (options.valid_before == 0) return fail(errc::unsupported_offer, "deposit validBefore is zero");
    if (channel.token_domain.name.empty() || channel.token_domain.version.empty()) {
        return fail(errc::unsupported_offer,
                    "extra.name/extra.version missing: the deposit is signed on the token's domain");
    }
    if (s.address() != channel.config.payer) {
        return fail(errc::unsupported_offer, "the signer is not the channel's payer");
    }
    signed_deposit out;
    if (options.salt) {
        out.salt = *options.salt;
    } else {
        PURSER_CHECK(random_bytes(out.salt.data(), out.salt.size()));
    }
    // 32 bytes always fit a uint256.
    const auto salt_value = *protocol::uint256::from_be_bytes(out.salt);
    out.amount = amount;
    out.valid_after = 0;
    out.valid_before = options.valid_before;
    out.authorization.from = channel.config.payer;
    out.authorization.to = protocol::erc3009_deposit_collector();
    out.authorization.value = amount;
    out.authorization.valid_after = protocol::uint256(0);
    out.authorization.valid_before = protocol::uint256(options.valid_before);
    out.authorization.nonce = protocol::deposit_nonce(channel.id, salt_value);
    PURSER_TRY(sig, s.sign_digest(protocol::authorization_digest(channel.token_domain, out.authorization,
                                                                 protocol::authorization_kind::receive)));
    out.sig = sig;
    return out;
}

ojson voucher_payload(const batch_channel& channel, const signed_voucher& voucher) {
    ojson j;
    j["type"] = "voucher";
    j["channelConfig"] = config_json(channel.config);
    ojson v;
    v["channelId"] = protocol::to_hex(voucher.channel_id);
    v["maxClaimableAmount"] = voucher.max_claimable.to_decimal();
    v["signature"] = voucher.sig.to_hex();
    j["voucher"] = std::move(v);
    return j;
}

ojson deposit_payload(const batch_channel& channel, const signed_voucher& voucher,
                      const signed_deposit& deposit) {
    ojson j = voucher_payload(channel, voucher);
    j["type"] = "deposit";
    ojson erc3009;
    erc3009["validAfter"] = std::to_string(deposit.valid_after);
    erc3009["validBefore"] = std::to_string(deposit.valid_before);
    erc3009["salt"] = protocol::to_hex(deposit.salt);
    erc3009["signature"] = deposit.sig.to_hex();
    ojson d;
    d["amount"] = deposit.amount.to_decimal();
    d["authorization"] = ojson{{"erc3009Authorization", std::move(erc3009)}};
    j["deposit"] = std::move(d);
    return j;
}

}  // namespace purser::wallet
