// `batch-settlement` on EVM: the verification rules of the EVM binding (channel config, token,
// receiver, authorizer, delay, voucher signature, existence, balance, cumulative bounds) and the
// settle actions deposit / voucher / claim / settle / refund.
#include "batch_checks.hpp"
#include "facilitator_detail.hpp"
#include "purser/protocol/eip712.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/testnet/accounts.hpp"

namespace purser::testnet::detail {
namespace {

const char* const prefix = "invalid_batch_settlement_evm_";

check breject(const std::string& what, std::string message = {}, std::string payer = {}) {
    return reject(prefix + what, std::move(message), std::move(payer));
}

json snapshot(const bytes32& id, const channel_state& ch) {
    return json{{"channelId", protocol::to_hex(id)},
                {"balance", ch.balance.to_decimal()},
                {"totalClaimed", ch.total_claimed.to_decimal()},
                {"withdrawRequestedAt", ch.withdraw_requested_at},
                {"refundNonce", ch.refund_nonce.to_decimal()}};
}

struct batch_input {
    std::string type;
    protocol::channel_config config;
    bytes32 id{};
    uint256 max_claimable;
    protocol::bytes voucher_signature;
    bool has_deposit = false;
    uint256 deposit_amount;
    deposit_authorization deposit;
    std::optional<uint256> refund_amount;
};

check parse_batch(chain& c, const json& payload, const json& req, batch_input& in) {
    const json accepted = payload.value("accepted", json::object());
    if (req.value("scheme", "") != "batch-settlement" || accepted.value("scheme", "") != "batch-settlement") {
        return breject("scheme");
    }
    if (accepted.value("network", "") != req.value("network", "")) return breject("network_mismatch");
    if (!is_our_network(2, req.value("network", ""))) return reject("invalid_network");
    const json extra = req.value("extra", json::object());
    if (!extra.is_object() || !extra.contains("name") || !extra.contains("version")) {
        return breject("missing_eip712_domain");
    }
    const json& p = payload.value("payload", json::object());
    in.type = p.value("type", "");
    if (in.type != "deposit" && in.type != "voucher" && in.type != "refund") return breject("payload_type");
    const std::string malformed = in.type + "_payload";
    auto cfg = protocol::channel_config_from_json(p.value("channelConfig", json()));
    if (!cfg) return breject(malformed, cfg.error().detail);
    in.config = *cfg;
    const json v = p.value("voucher", json());
    if (!v.is_object()) return breject(malformed, "voucher is required");
    auto id = protocol::bytes32_from_hex(v.value("channelId", ""));
    auto max = to_u256(v.value("maxClaimableAmount", json()));
    auto sig = protocol::from_hex(v.value("signature", ""));
    if (!id || !max || !sig) return breject(malformed, "malformed voucher");
    in.id = *id;
    in.max_claimable = *max;
    in.voucher_signature = *sig;
    if (in.type == "deposit") {
        const json d = p.value("deposit", json());
        if (!d.is_object()) return breject("deposit_payload", "deposit is required");
        auto amount = to_u256(d.value("amount", json()));
        const json e = d.value("authorization", json::object()).value("erc3009Authorization", json());
        if (!e.is_object()) return breject("erc3009_authorization_required");
        auto after = to_u256(e.value("validAfter", json()));
        auto before = to_u256(e.value("validBefore", json()));
        auto salt = protocol::bytes32_from_hex(e.value("salt", ""));
        auto dsig = protocol::from_hex(e.value("signature", ""));
        if (!amount || amount->is_zero() || !after || !before || !salt || !dsig) {
            return breject("deposit_payload", "malformed deposit");
        }
        in.has_deposit = true;
        in.deposit_amount = *amount;
        in.deposit = {*after, *before, *uint256::from_be_bytes(*salt), *dsig};
    }
    if (in.type == "refund" && p.contains("amount")) {
        auto amount = to_u256(p["amount"]);
        if (!amount || amount->is_zero()) return breject("refund_amount_invalid");
        in.refund_amount = *amount;
    }
    (void)c;
    return {};
}

check verify_parsed(chain& c, const batch_input& in, const json& req) {
    const std::string payer = in.config.payer.to_checksum();
    const json extra = req.value("extra", json::object());
    channel_terms terms;
    if (auto a = address::parse(req.value("asset", ""))) terms.token = *a;
    if (auto a = address::parse(req.value("payTo", ""))) terms.receiver = *a;
    if (auto a = address::parse(extra.value("receiverAuthorizer", ""))) terms.receiver_authorizer = *a;
    terms.withdraw_delay = to_u256(extra.value("withdrawDelay", json()));
    if (auto why = channel_config_mismatch(c.chain_id(), in.config, in.id, terms)) return breject(*why, "", payer);
    if (!in.max_claimable.fits_bits(128)) return breject(in.type + "_payload", "maxClaimableAmount above uint128", payer);
    if (!voucher_signed_by_payer(c.chain_id(), in.config, in.id, in.max_claimable, in.voucher_signature)) {
        return breject("voucher_signature", "", payer);
    }
    auto ch = c.channel(in.id);
    if (!ch) return breject("channel_state_read_failed", ch.error().message(), payer);
    uint256 effective = ch->balance;
    if (in.has_deposit) {
        auto bal = c.balance_of(in.config.payer);
        if (!bal) return breject("rpc_read_failed", bal.error().message(), payer);
        if (*bal < in.deposit_amount) return breject("insufficient_balance", "", payer);
        const uint256 now{c.now()};
        if (in.deposit.valid_before <= now) return breject("payload_authorization_valid_before", "", payer);
        if (in.deposit.valid_after > now) return breject("payload_authorization_valid_after", "", payer);
        auto sim = c.deposit(in.config, in.deposit_amount, in.deposit, exec::simulate);
        if (!sim) {
            if (sim.error().code == make_error_code(errc::invalid_signature)) {
                return breject("receive_authorization_signature", "", payer);
            }
            return breject("deposit_simulation_failed", sim.error().message(), payer);
        }
        auto sum = effective.add(in.deposit_amount);
        if (!sum) return breject("deposit_payload", "balance overflow", payer);
        effective = *sum;
    } else if (!ch->exists || ch->balance.is_zero()) {
        return breject("channel_not_found", "", payer);
    }
    if (in.max_claimable > effective) return breject("cumulative_exceeds_balance", "", payer);
    const bool below = in.type == "voucher" ? !(in.max_claimable > ch->total_claimed)
                                            : in.max_claimable < ch->total_claimed;
    if (below) return breject("cumulative_below_claimed", "", payer);
    check ok{{}, {}, payer, snapshot(in.id, *ch)};
    return ok;
}

json with_state(json out, chain& c, const bytes32& id) {
    auto ch = c.channel(id);
    if (ch) out["extra"] = {{"channelState", snapshot(id, *ch)}};
    return out;
}

// Claims rows [{voucher:{channel, maxClaimableAmount}, signature, totalClaimed}] as the
// receiverAuthorizer: all rows are simulated first so a bad row leaves every channel unchanged.
result<std::optional<bytes32>> run_claims(chain& c, const address& signer, const json& claims) {
    if (!claims.is_array()) return fail(errc::invalid_request, "claims must be an array");
    struct row {
        protocol::channel_config cfg;
        uint256 max;
        protocol::bytes sig;
        uint256 total;
    };
    std::vector<row> rows;
    for (const auto& cl : claims) {
        const json v = cl.value("voucher", json::object());
        auto cfg = protocol::channel_config_from_json(v.value("channel", json()));
        auto max = to_u256(v.value("maxClaimableAmount", json()));
        auto sig = protocol::from_hex(cl.value("signature", ""));
        auto total = to_u256(cl.value("totalClaimed", json()));
        if (!cfg || !max || !sig || !total) return fail(errc::invalid_request, "malformed claim row");
        rows.push_back({*cfg, *max, *sig, *total});
    }
    for (const auto& r : rows) {
        if (r.cfg.receiver_authorizer != signer) return fail(errc::not_authorized, "authorizer_address_mismatch");
        auto sim = c.claim(signer, r.cfg, r.max, r.sig, r.total, exec::simulate);
        if (!sim) return tl::unexpected(sim.error());
    }
    std::optional<bytes32> last;
    for (const auto& r : rows) {
        auto ch = c.channel(protocol::channel_id(c.chain_id(), r.cfg));
        if (ch && ch->total_claimed == r.total) continue;  // nothing new to claim
        PURSER_TRY(tx, c.claim(signer, r.cfg, r.max, r.sig, r.total));
        last = tx;
    }
    return last;
}

}  // namespace

check verify_batch(chain& c, const json& payload, const json& requirements) {
    batch_input in;
    check parsed = parse_batch(c, payload, requirements, in);
    if (!parsed.ok()) return parsed;
    return verify_parsed(c, in, requirements);
}

json settle_batch(chain& c, const bytes32& key, const address& signer, const json& payload,
                  const json& req) {
    const std::string network = req.value("network", "");
    const json& p = payload.value("payload", json::object());
    const std::string type = p.value("type", "");
    if (type == "claim") {
        auto r = run_claims(c, signer, p.value("claims", json()));
        if (!r) {
            const bool auth = r.error().code == make_error_code(errc::not_authorized);
            return settle_failure(std::string(prefix) + (auth ? "authorizer_address_mismatch" : "claim_simulation_failed"),
                                  r.error().message(), network, "");
        }
        return json{{"success", true}, {"transaction", *r ? protocol::to_hex(**r) : ""}, {"network", network}};
    }
    if (type == "settle") {
        auto receiver = address::parse(p.value("receiver", ""));
        auto token = address::parse(p.value("token", ""));
        if (!receiver || !token) return settle_failure(std::string(prefix) + "settle_payload", "", network, "");
        if (*token != c.token()) return settle_failure(std::string(prefix) + "token_mismatch", "", network, "");
        auto amount = c.unsettled(*receiver);
        auto tx = c.settle(*receiver);
        if (!tx || !amount) {
            const bool none = !tx && tx.error().code == make_error_code(errc::nothing_to_settle);
            return settle_failure(std::string(prefix) + (none ? "nothing_to_settle" : "settle_transaction_failed"),
                                  tx ? "" : tx.error().message(), network, "");
        }
        return json{{"success", true}, {"transaction", protocol::to_hex(*tx)}, {"network", network},
                    {"amount", amount->to_decimal()}};
    }

    batch_input in;
    check v = parse_batch(c, payload, req, in);
    if (v.ok()) v = verify_parsed(c, in, req);
    if (!v.ok()) return settle_failure(v.reason, v.message, network, v.payer);
    const std::string payer = v.payer;
    if (in.type == "voucher") {
        // A voucher moves nothing on chain; the server claims it later.
        return with_state(json{{"success", true}, {"payer", payer}, {"transaction", ""}, {"network", network}}, c, in.id);
    }
    if (in.type == "deposit") {
        auto tx = c.deposit(in.config, in.deposit_amount, in.deposit);
        if (!tx) return settle_failure(std::string(prefix) + "deposit_transaction_failed", tx.error().message(), network, payer);
        return with_state(json{{"success", true}, {"payer", payer}, {"transaction", protocol::to_hex(*tx)},
                               {"network", network}, {"amount", in.deposit_amount.to_decimal()}},
                          c, in.id);
    }
    // refund: claim what the server attached, then refund with our receiverAuthorizer signature.
    if (in.config.receiver_authorizer != signer) {
        return settle_failure(std::string(prefix) + "authorizer_address_mismatch", "", network, payer);
    }
    if (p.contains("claims")) {
        auto r = run_claims(c, signer, p["claims"]);
        if (!r) return settle_failure(std::string(prefix) + "claim_simulation_failed", r.error().message(), network, payer);
    }
    auto ch = c.channel(in.id);
    if (!ch) return settle_failure(std::string(prefix) + "channel_state_read_failed", "", network, payer);
    auto available = ch->balance.sub(ch->total_claimed);
    if (!available || available->is_zero()) return settle_failure(std::string(prefix) + "refund_no_balance", "", network, payer);
    // As the official facilitator (refund.ts): the server's amount, capped to what is unclaimed,
    // signed under the refundNonce the server read (the chain refuses a stale one).
    uint256 amount = in.refund_amount ? *in.refund_amount : *available;
    if (amount > *available) amount = *available;
    uint256 nonce = ch->refund_nonce;
    if (p.contains("refundNonce")) {
        auto n = to_u256(p["refundNonce"]);
        if (!n) return settle_failure(std::string(prefix) + "refund_payload", "malformed refundNonce", network, payer);
        nonce = *n;
    }
    auto digest = protocol::eip712::hash_typed_data(protocol::refund_typed_data(c.chain_id(), in.id, nonce, amount));
    auto sig = digest ? sign_digest(key, *digest) : tl::unexpected(digest.error());
    if (!sig) return settle_failure(std::string(prefix) + "refund_simulation_failed", "", network, payer);
    if (auto sim = c.refund_with_signature(in.config, amount, nonce, *sig, exec::simulate); !sim) {
        return settle_failure(std::string(prefix) + "refund_simulation_failed", sim.error().message(), network, payer);
    }
    auto tx = c.refund_with_signature(in.config, amount, nonce, *sig);
    if (!tx) return settle_failure(std::string(prefix) + "refund_transaction_failed", tx.error().message(), network, payer);
    return with_state(json{{"success", true}, {"payer", payer}, {"transaction", protocol::to_hex(*tx)},
                           {"network", network}, {"amount", amount.to_decimal()}},
                      c, in.id);
}

}  // namespace purser::testnet::detail
