#include "purser/wallet/exact.hpp"

#include <algorithm>
#include <chrono>

#include "offer_fields.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/result.hpp"
#include "purser/wallet/errc.hpp"

namespace purser::wallet {
namespace detail {

const protocol::network_registry& default_registry() {
    static const protocol::network_registry r = protocol::network_registry::builtin();
    return r;
}

result<protocol::address> offer_address(std::string_view text, std::string_view field) {
    auto a = protocol::address::parse(text);
    if (!a) return fail(errc::unsupported_offer, std::string(field) + ": " + a.error().detail);
    return *a;
}

result<protocol::eip712_domain> token_domain(std::string_view network, std::string_view asset,
                                             const protocol::ojson& extra,
                                             const protocol::network_registry& registry) {
    // The official client signs with whatever domain the merchant states, and so do we: a
    // built-in table would silently produce signatures that recover to someone else.
    if (!extra.is_object()) return fail(errc::unsupported_offer, "extra.name/extra.version missing");
    auto name = extra.find("name");
    auto version = extra.find("version");
    if (name == extra.end() || !name->is_string()) {
        return fail(errc::unsupported_offer, "extra.name missing (the token's EIP-712 domain name)");
    }
    if (version == extra.end() || !version->is_string()) {
        return fail(errc::unsupported_offer, "extra.version missing (the token's EIP-712 version)");
    }
    PURSER_TRY(chain, evm_chain_id_of(network, registry));
    PURSER_TRY(contract, offer_address(asset, "asset"));
    return protocol::eip712_domain{name->get<std::string>(), version->get<std::string>(), chain,
                                   contract};
}

}  // namespace detail

namespace {

using protocol::ojson;

std::uint64_t unix_now() {
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(since).count());
}

/// The amount text exactly as the merchant wrote it (the official client copies the string).
std::string wire_amount(const protocol::payment_requirements& offer, int version) {
    const char* key = version == 1 ? "maxAmountRequired" : "amount";
    if (offer.raw.is_object()) {
        auto it = offer.raw.find(key);
        if (it != offer.raw.end() && it->is_string()) return it->get<std::string>();
    }
    return offer.amount.to_decimal();
}

result<std::string> string_field(const ojson& obj, const char* key, const char* where) {
    auto it = obj.find(key);
    if (it == obj.end()) return fail(protocol::errc::missing_field, std::string(where) + key);
    if (!it->is_string()) return fail(protocol::errc::wrong_type, std::string(where) + key);
    return it->get<std::string>();
}

result<protocol::uint256> decimal_field(const ojson& obj, const char* key, const char* where) {
    PURSER_TRY(text, string_field(obj, key, where));
    auto v = protocol::uint256::from_decimal(text);
    if (!v) return fail(v.error().code, std::string(where) + key);
    return *v;
}

result<protocol::address> address_field(const ojson& obj, const char* key, const char* where) {
    PURSER_TRY(text, string_field(obj, key, where));
    auto a = protocol::address::parse(text);
    if (!a) return fail(a.error().code, std::string(where) + key);
    return *a;
}

}  // namespace

result<std::uint64_t> evm_chain_id_of(std::string_view network,
                                      const protocol::network_registry& registry) {
    if (network.rfind("eip155:", 0) == 0) {
        auto id = protocol::evm_chain_id(network);
        if (!id) return fail(errc::unsupported_offer, "network " + std::string(network) + ": " + id.error().detail);
        return *id;
    }
    if (const auto* net = registry.find(network); net != nullptr && net->chain_id != 0) {
        return net->chain_id;
    }
    return fail(errc::unsupported_offer, "network " + std::string(network) + " is not a known EVM network");
}

result<protocol::eip712_domain> offer_token_domain(const protocol::payment_requirements& offer,
                                                   const protocol::network_registry& registry) {
    return detail::token_domain(offer.network, offer.asset, offer.extra, registry);
}

result<exact_payment> sign_exact(signer& s, const protocol::payment_required& required,
                                 const protocol::payment_requirements& offer,
                                 const exact_options& options) {
    if (offer.scheme != "exact") {
        return fail(errc::unsupported_offer, "scheme " + offer.scheme + " is not exact");
    }
    if (offer.extra.is_object()) {
        auto method = offer.extra.find("assetTransferMethod");
        if (method != offer.extra.end() &&
            !(method->is_string() && method->get<std::string>() == "eip3009")) {
            return fail(errc::unsupported_offer, "only the eip3009 asset transfer method is supported");
        }
    }
    const auto& registry = options.registry != nullptr ? *options.registry : detail::default_registry();
    PURSER_TRY(domain, offer_token_domain(offer, registry));
    PURSER_TRY(pay_to, detail::offer_address(offer.pay_to, "payTo"));
    const int version = required.x402_version;
    if (version != 1 && version != 2) return fail(errc::unsupported_offer, "x402Version must be 1 or 2");

    const std::uint64_t now = options.now.value_or(unix_now());
    // v2 clients sign validAfter 0 today; v1 clients still back-date ten minutes (x402.md §4.1).
    const std::uint64_t valid_after =
        options.valid_after.value_or(version == 2 ? 0 : (now > 600 ? now - 600 : 0));
    const std::uint64_t window = std::min(offer.max_timeout_seconds, options.max_window_seconds);
    const std::uint64_t valid_before = options.valid_before.value_or(now + window);
    if (valid_before <= valid_after) {
        return fail(errc::unsupported_offer, "validBefore must be after validAfter");
    }
    protocol::bytes32 nonce{};
    if (options.nonce) {
        nonce = *options.nonce;
    } else {
        PURSER_CHECK(random_bytes(nonce.data(), nonce.size()));
    }

    protocol::transfer_authorization auth;
    auth.from = s.address();
    auth.to = pay_to;
    auth.value = offer.amount;
    auth.valid_after = protocol::uint256(valid_after);
    auth.valid_before = protocol::uint256(valid_before);
    auth.nonce = nonce;
    const auto digest = protocol::authorization_digest(domain, auth, protocol::authorization_kind::transfer);
    PURSER_TRY(sig, s.sign_digest(digest));

    exact_payment out;
    out.nonce_hex = protocol::to_hex(nonce);
    ojson authorization;
    authorization["from"] = auth.from.to_checksum();
    authorization["to"] = pay_to.to_checksum();
    authorization["value"] = wire_amount(offer, version);
    authorization["validAfter"] = std::to_string(valid_after);
    authorization["validBefore"] = std::to_string(valid_before);
    authorization["nonce"] = out.nonce_hex;
    ojson scheme_payload;
    scheme_payload["authorization"] = std::move(authorization);
    scheme_payload["signature"] = sig.to_hex();

    if (version == 2) {
        out.payload = protocol::make_payment_payload(required, offer, std::move(scheme_payload));
    } else {
        out.payload.x402_version = 1;
        out.payload.scheme = offer.scheme;
        out.payload.network = offer.network;
        out.payload.payload = std::move(scheme_payload);
    }
    out.header_name = std::string(protocol::payment_header_name(version));
    out.header_value = protocol::encode_payment_header(out.payload);
    out.valid_after = valid_after;
    out.valid_before = valid_before;
    out.amount = offer.amount;
    out.from = auth.from;
    out.pay_to = pay_to;
    out.asset = domain.verifying_contract;
    out.network = offer.network;
    out.chain_id = domain.chain_id;
    out.digest = digest;
    out.sig = sig;
    return out;
}

result<exact_check> check_exact_payload(const protocol::payment_payload& payload,
                                        const protocol::payment_requirements* offer,
                                        const protocol::network_registry& registry) {
    exact_check out;
    if (offer != nullptr) {
        PURSER_TRY(d, offer_token_domain(*offer, registry));
        out.domain = std::move(d);
    } else if (payload.x402_version == 2 && payload.accepted.is_object()) {
        const auto& acc = payload.accepted;
        PURSER_TRY(network, string_field(acc, "network", "accepted."));
        PURSER_TRY(asset, string_field(acc, "asset", "accepted."));
        auto extra = acc.find("extra");
        PURSER_TRY(d, detail::token_domain(network, asset, extra == acc.end() ? ojson() : *extra,
                                           registry));
        out.domain = std::move(d);
    } else {
        return fail(errc::unsupported_offer,
                    "a v1 payment names no token domain: pass the payment requirements");
    }
    if (!payload.payload.is_object()) return fail(protocol::errc::wrong_type, "payload");
    auto a = payload.payload.find("authorization");
    if (a == payload.payload.end()) return fail(protocol::errc::missing_field, "payload.authorization");
    if (!a->is_object()) return fail(protocol::errc::wrong_type, "payload.authorization");
    const char* where = "payload.authorization.";
    PURSER_TRY(from, address_field(*a, "from", where));
    PURSER_TRY(to, address_field(*a, "to", where));
    PURSER_TRY(value, decimal_field(*a, "value", where));
    PURSER_TRY(after, decimal_field(*a, "validAfter", where));
    PURSER_TRY(before, decimal_field(*a, "validBefore", where));
    PURSER_TRY(nonce_text, string_field(*a, "nonce", where));
    auto nonce = protocol::bytes32_from_hex(nonce_text);
    if (!nonce) return fail(nonce.error().code, "payload.authorization.nonce");
    PURSER_TRY(sig_text, string_field(payload.payload, "signature", "payload."));
    PURSER_TRY(sig, signature::from_hex(sig_text));

    out.authorization = {from, to, value, after, before, *nonce};
    const auto digest = protocol::authorization_digest(out.domain, out.authorization,
                                                       protocol::authorization_kind::transfer);
    out.digest = digest;
    PURSER_TRY(recovered, recover_address(digest, sig));
    out.recovered = recovered;
    out.signer_matches = recovered == from;
    return out;
}

}  // namespace purser::wallet
