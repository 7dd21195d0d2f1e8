// `exact` on EVM (EIP-3009), verified in the order of the official facilitator (x402.md §4.1).
#include "facilitator_detail.hpp"
#include "purser/protocol/eip712.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/testnet/accounts.hpp"

namespace purser::testnet::detail {
namespace {

struct exact_input {
    protocol::transfer_authorization auth;
    protocol::bytes signature;
    uint256 required;       // amount (v2) or maxAmountRequired (v1)
    address pay_to;
    address asset;
    std::string name;
    std::string version;
};

// Everything that can be wrong before any cryptography; `in` is filled on success.
check parse_exact(chain& c, int version, const json& payload, const json& req, exact_input& in) {
    const std::string accepted_scheme = version == 2 ? payload.value("accepted", json::object()).value("scheme", "")
                                                     : payload.value("scheme", "");
    if (accepted_scheme != "exact" || req.value("scheme", "") != "exact") return reject("invalid_exact_evm_scheme");
    const json extra = req.value("extra", json::object());
    if (!extra.is_object() || !extra.contains("name") || !extra.contains("version") ||
        !extra["name"].is_string() || !extra["version"].is_string()) {
        return reject("invalid_exact_evm_missing_eip712_domain");
    }
    in.name = extra["name"];
    in.version = extra["version"];
    const std::string accepted_network = version == 2 ? payload.value("accepted", json::object()).value("network", "")
                                                      : payload.value("network", "");
    const std::string network = req.value("network", "");
    if (accepted_network != network) return reject("invalid_exact_evm_network_mismatch");
    if (!is_our_network(version, network)) return reject("invalid_network", "this facilitator serves " + std::string(version == 1 ? protocol::testnet_v1_name : protocol::testnet_caip2));
    auto asset = address::parse(req.value("asset", ""));
    if (!asset) return reject("invalid_payment_requirements", "asset is not an address");
    in.asset = *asset;
    auto pay_to = address::parse(req.value("payTo", ""));
    if (!pay_to) return reject("invalid_payment_requirements", "payTo is not an address");
    in.pay_to = *pay_to;
    auto required = to_u256(req.value(version == 2 ? "amount" : "maxAmountRequired", json()));
    if (!required) return reject("invalid_payment_requirements", "amount is not a decimal string");
    in.required = *required;

    const json& inner = payload.value("payload", json::object());
    const json a = inner.value("authorization", json());
    if (!a.is_object() || !inner.contains("signature") || !inner["signature"].is_string()) {
        return reject("invalid_payload", "payload.authorization and payload.signature are required");
    }
    auto from = address::parse(a.value("from", ""));
    auto to = address::parse(a.value("to", ""));
    auto value = to_u256(a.value("value", json()));
    auto after = to_u256(a.value("validAfter", json()));
    auto before = to_u256(a.value("validBefore", json()));
    auto nonce = protocol::bytes32_from_hex(a.value("nonce", ""));
    auto sig = protocol::from_hex(inner["signature"].get<std::string>());
    if (!from || !to || !value || !after || !before || !nonce || !sig) {
        return reject("invalid_payload", "malformed authorization field");
    }
    in.auth = {*from, *to, *value, *after, *before, *nonce};
    in.signature = *sig;
    (void)c;
    return {};
}

check verify_parsed(chain& c, const exact_input& in, bool simulate) {
    const std::string payer = in.auth.from.to_checksum();
    protocol::eip712_domain domain{in.name, in.version, c.chain_id(), in.asset};
    const auto digest = protocol::authorization_digest(domain, in.auth, protocol::authorization_kind::transfer);
    auto signer = recover_signer(digest, in.signature);
    if (!signer || *signer != in.auth.from) return reject("invalid_exact_evm_signature", "", payer);
    if (in.auth.to != in.pay_to) return reject("invalid_exact_evm_recipient_mismatch", "", payer);
    const uint256 now{c.now()};
    if (in.auth.valid_before < *now.add(uint256{6})) {
        return reject("invalid_exact_evm_payload_authorization_valid_before", "", payer);
    }
    if (in.auth.valid_after > now) return reject("invalid_exact_evm_payload_authorization_valid_after", "", payer);
    if (in.auth.value != in.required) {
        return reject("invalid_exact_evm_payload_authorization_value_mismatch", "", payer);
    }
    if (in.asset != c.token()) return reject("asset_not_deployed_contract", "", payer);
    if (!simulate) return check{{}, {}, payer, json()};
    auto sim = c.transfer_with_authorization(in.auth, in.signature, exec::simulate);
    if (sim) return check{{}, {}, payer, json()};
    // The official diagnostic order after a failed simulation.
    if (sim.error().code == make_error_code(errc::authorization_used)) {
        return reject("invalid_exact_evm_nonce_already_used", "", payer);
    }
    if (in.name != c.token_domain().name) return reject("invalid_exact_evm_token_name_mismatch", "", payer);
    if (in.version != c.token_domain().version) return reject("invalid_exact_evm_token_version_mismatch", "", payer);
    if (sim.error().code == make_error_code(errc::insufficient_balance)) {
        return reject("invalid_exact_evm_insufficient_balance", "", payer);
    }
    return reject("invalid_exact_evm_transaction_simulation_failed", sim.error().message(), payer);
}

}  // namespace

check verify_exact(chain& c, int version, const json& payload, const json& requirements) {
    exact_input in;
    check parsed = parse_exact(c, version, payload, requirements, in);
    if (!parsed.ok()) return parsed;
    return verify_parsed(c, in, true);
}

json settle_exact(chain& c, int version, const json& payload, const json& requirements) {
    const std::string network = requirements.value("network", "");
    exact_input in;
    check v = parse_exact(c, version, payload, requirements, in);
    if (v.ok()) v = verify_parsed(c, in, true);
    if (!v.ok()) return settle_failure(v.reason, v.message, network, v.payer);
    auto tx = c.transfer_with_authorization(in.auth, in.signature);
    if (!tx) {
        // Lost a race with another settle of the same nonce, or the balance moved meanwhile.
        const bool used = tx.error().code == make_error_code(errc::authorization_used);
        return settle_failure(used ? "invalid_exact_evm_nonce_already_used" : "invalid_exact_evm_transaction_failed",
                              tx.error().message(), network, v.payer);
    }
    return json{{"success", true},
                {"payer", v.payer},
                {"transaction", protocol::to_hex(*tx)},
                {"network", network},
                {"amount", in.auth.value.to_decimal()}};
}

}  // namespace purser::testnet::detail
