#include "purser/protocol/x402_types.hpp"

#include "abi_words.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/keccak.hpp"

namespace purser::protocol {
namespace {

using json = nlohmann::json;

// Only ever called on the checksummed constants below, so parsing cannot fail.
address parse_constant(const char* text) { return *address::parse(text); }

}  // namespace

json to_json(const eip712_domain& d) {
    return json{{"name", d.name},
                {"version", d.version},
                {"chainId", d.chain_id},
                {"verifyingContract", d.verifying_contract.to_checksum()}};
}

eip712::typed_data authorization_typed_data(const eip712_domain& domain,
                                            const transfer_authorization& auth,
                                            authorization_kind kind) {
    std::string primary = kind == authorization_kind::transfer ? "TransferWithAuthorization"
                                                               : "ReceiveWithAuthorization";
    eip712::typed_data td;
    td.types[primary] = {{"from", "address"},       {"to", "address"},
                         {"value", "uint256"},      {"validAfter", "uint256"},
                         {"validBefore", "uint256"}, {"nonce", "bytes32"}};
    td.primary_type = primary;
    td.domain = to_json(domain);
    td.message = json{{"from", auth.from.to_checksum()},
                      {"to", auth.to.to_checksum()},
                      {"value", auth.value.to_decimal()},
                      {"validAfter", auth.valid_after.to_decimal()},
                      {"validBefore", auth.valid_before.to_decimal()},
                      {"nonce", to_hex(auth.nonce)}};
    return td;
}

namespace {

using detail::put_address;
using detail::put_uint;
using detail::put_word;

bytes32 domain_separator(const eip712_domain& d) {
    static const bytes32 type_hash =
        keccak256(std::string_view("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
    bytes enc;
    enc.reserve(5 * 32);
    put_word(enc, type_hash);
    put_word(enc, keccak256(std::string_view(d.name)));
    put_word(enc, keccak256(std::string_view(d.version)));
    put_uint(enc, uint256(d.chain_id));
    put_address(enc, d.verifying_contract);
    return keccak256(enc);
}

}  // namespace

bytes32 authorization_digest(const eip712_domain& domain, const transfer_authorization& auth,
                             authorization_kind kind) {
    static const bytes32 transfer_type = keccak256(std::string_view(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,"
        "uint256 validBefore,bytes32 nonce)"));
    static const bytes32 receive_type = keccak256(std::string_view(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,"
        "uint256 validBefore,bytes32 nonce)"));
    bytes message;
    message.reserve(7 * 32);
    put_word(message, kind == authorization_kind::transfer ? transfer_type : receive_type);
    put_address(message, auth.from);
    put_address(message, auth.to);
    put_uint(message, auth.value);
    put_uint(message, auth.valid_after);
    put_uint(message, auth.valid_before);
    put_word(message, auth.nonce);
    bytes digest_input{0x19, 0x01};
    digest_input.reserve(2 + 2 * 32);
    put_word(digest_input, domain_separator(domain));
    put_word(digest_input, keccak256(message));
    return keccak256(digest_input);
}

const address& batch_settlement_contract() {
    static const address a = parse_constant("0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003");
    return a;
}

const address& erc3009_deposit_collector() {
    static const address a = parse_constant("0x4020806089470a89826cB9fB1f4059150b550004");
    return a;
}

eip712_domain batch_settlement_domain(std::uint64_t chain_id) {
    return {"x402 Batch Settlement", "1", chain_id, batch_settlement_contract()};
}

json to_json(const channel_config& c) {
    return json{{"payer", c.payer.to_checksum()},
                {"payerAuthorizer", c.payer_authorizer.to_checksum()},
                {"receiver", c.receiver.to_checksum()},
                {"receiverAuthorizer", c.receiver_authorizer.to_checksum()},
                {"token", c.token.to_checksum()},
                {"withdrawDelay", c.withdraw_delay},
                {"salt", to_hex(c.salt)}};
}

result<channel_config> channel_config_from_json(const json& j) {
    if (!j.is_object()) return fail(errc::wrong_type, "channelConfig: expected an object");
    channel_config c;
    auto addr = [&](const char* key, address& out) -> result<void> {
        auto it = j.find(key);
        if (it == j.end()) return fail(errc::missing_field, std::string("channelConfig.") + key);
        if (!it->is_string()) return fail(errc::wrong_type, std::string("channelConfig.") + key);
        auto a = address::parse(it->get<std::string>());
        if (!a) return fail(a.error().code, std::string("channelConfig.") + key + ": " + a.error().detail);
        out = *a;
        return {};
    };
    for (auto [key, out] : {std::pair{"payer", &c.payer},
                            std::pair{"payerAuthorizer", &c.payer_authorizer},
                            std::pair{"receiver", &c.receiver},
                            std::pair{"receiverAuthorizer", &c.receiver_authorizer},
                            std::pair{"token", &c.token}}) {
        auto r = addr(key, *out);
        if (!r) return tl::unexpected(r.error());
    }
    auto wd = j.find("withdrawDelay");
    if (wd == j.end()) return fail(errc::missing_field, "channelConfig.withdrawDelay");
    if (!wd->is_number_unsigned() || wd->get<std::uint64_t>() >= (1ULL << 40)) {
        return fail(errc::invalid_value, "channelConfig.withdrawDelay: expected a uint40");
    }
    c.withdraw_delay = wd->get<std::uint64_t>();
    auto salt = j.find("salt");
    if (salt == j.end()) return fail(errc::missing_field, "channelConfig.salt");
    if (!salt->is_string()) return fail(errc::wrong_type, "channelConfig.salt");
    auto s = bytes32_from_hex(salt->get<std::string>());
    if (!s) return fail(s.error().code, "channelConfig.salt: " + s.error().detail);
    c.salt = *s;
    return c;
}

eip712::typed_data channel_config_typed_data(std::uint64_t chain_id, const channel_config& c) {
    eip712::typed_data td;
    td.types["ChannelConfig"] = {{"payer", "address"},          {"payerAuthorizer", "address"},
                                 {"receiver", "address"},       {"receiverAuthorizer", "address"},
                                 {"token", "address"},          {"withdrawDelay", "uint40"},
                                 {"salt", "bytes32"}};
    td.primary_type = "ChannelConfig";
    td.domain = to_json(batch_settlement_domain(chain_id));
    td.message = to_json(c);
    return td;
}

bytes32 channel_id(std::uint64_t chain_id, const channel_config& c) {
    // Every value was produced by to_json above, so hashing cannot fail.
    return *eip712::hash_typed_data(channel_config_typed_data(chain_id, c));
}

eip712::typed_data voucher_typed_data(std::uint64_t chain_id, const bytes32& channel,
                                      const uint256& max_claimable) {
    eip712::typed_data td;
    td.types["Voucher"] = {{"channelId", "bytes32"}, {"maxClaimableAmount", "uint128"}};
    td.primary_type = "Voucher";
    td.domain = to_json(batch_settlement_domain(chain_id));
    td.message = json{{"channelId", to_hex(channel)},
                      {"maxClaimableAmount", max_claimable.to_decimal()}};
    return td;
}

eip712::typed_data refund_typed_data(std::uint64_t chain_id, const bytes32& channel,
                                     const uint256& nonce, const uint256& amount) {
    eip712::typed_data td;
    td.types["Refund"] = {{"channelId", "bytes32"}, {"nonce", "uint256"}, {"amount", "uint128"}};
    td.primary_type = "Refund";
    td.domain = to_json(batch_settlement_domain(chain_id));
    td.message = json{{"channelId", to_hex(channel)},
                      {"nonce", nonce.to_decimal()},
                      {"amount", amount.to_decimal()}};
    return td;
}

bytes32 deposit_nonce(const bytes32& channel, const uint256& salt) {
    std::array<std::uint8_t, 64> buf{};
    std::copy(channel.begin(), channel.end(), buf.begin());
    auto s = salt.to_be_bytes();
    std::copy(s.begin(), s.end(), buf.begin() + 32);
    return keccak256(buf);
}

}  // namespace purser::protocol
