// purser ledger reconcile: learns from the chain what the proxy could not learn from the
// merchant. A payment in doubt (settlement timed out, the proxy crashed) or refused by the
// merchant may still have moved money; EIP-3009 tokens record every used nonce, so
// authorizationState(payer, nonce) is the evidence invariant 2 of DESIGN.md asks for. A used
// nonce makes the row paid (counted again if it had expired); an unused one changes nothing,
// because it expires by itself at its validBefore.
#include <iostream>
#include <set>
#include <vector>

#include "command_table.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "purser/chain/reads.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/wallet/keystore.hpp"
#include "rpc_options.hpp"

namespace purser::cli {
namespace {

namespace st = purser::store;


/// Seconds past validBefore before an unused authorization counts as dead: block timestamps
/// may lag the proxy's clock.
constexpr std::uint64_t skew_margin_s = 60;

/// What reconcile did with one row, for the report.
struct outcome {
    std::string text;
    bool paid = false;
    bool error = false;
    bool released = false;
};

/// The checks for one row; `payer` signed every authorization in this ledger.
outcome reconcile_row(st::store& s, chain::json_rpc_client& rpc, std::uint64_t chain,
                      const protocol::network_registry& registry, const protocol::address& payer,
                      const st::ledger_row& r, std::uint64_t now, bool dry_run) {
    if (r.scheme != "exact" || r.nonce.empty()) return {"skipped: not an EIP-3009 authorization"};
    const auto* net = registry.find(r.network);
    if (net == nullptr) return {"skipped: unknown network " + r.network};
    if (net->chain_id != chain) {
        return {"skipped: on chain " + std::to_string(net->chain_id) + ", the RPC serves chain " +
                std::to_string(chain)};
    }
    auto token = protocol::address::parse(r.asset);
    auto nonce = protocol::bytes32_from_hex(r.nonce);
    if (!token || !nonce) return {"skipped: the row's asset or nonce does not parse"};
    auto used = chain::authorization_used(rpc, *token, payer, *nonce);
    if (!used) return {"error: " + used.error().message(), false, true};
    if (!*used) {
        if (r.state == st::status::expired) return {"unused on chain: stays expired"};
        if (r.expires_at != 0 && now / 1000 >= r.expires_at + skew_margin_s) {
            if (dry_run) return {"unused on chain and past its validBefore: would be released"};
            auto done = s.expire_unsettled(
                r.id,
                "released: authorizationState(payer, nonce) false on chain " +
                    std::to_string(chain) + " after validBefore (found by ledger reconcile)",
                skew_margin_s);
            if (!done) return {"error: " + done.error().message(), false, true};
            return {"unused on chain and past its validBefore: released", false, false, true};
        }
        return {"unused on chain so far: it may still settle until " +
                st::iso8601_utc((r.expires_at + skew_margin_s) * 1000)};
    }
    if (dry_run) return {"used on chain: would become paid", true};
    auto done = s.commit(r.id, st::settlement{},
                         "settled on chain " + std::to_string(chain) +
                             ": authorizationState(payer, nonce) is true (found by ledger reconcile)");
    if (!done) return {"error: " + done.error().message(), false, true};
    return {"used on chain: now paid", true};
}

}  // namespace

int ledger_reconcile_command(const words& args) {
    int rc = 0;
    auto o = parse_command("ledger reconcile", args, rc);
    if (!o) return rc;
    if (!o->positional().empty()) return report(help_text(*find_command("ledger reconcile")), 2);
    const bool dry_run = o->has("dry-run");

    auto rpc = rpc_from_options(*o);
    if (!rpc) return report(rpc.error(), 2);
    auto chain = chain::rpc_chain_id(**rpc);
    if (!chain) return report(chain.error());
    auto cfg = resolve_config(*o);
    if (!cfg) return report(cfg.error());
    auto payer = o->get("address") ? protocol::address::parse(*o->get("address"))
                                   : wallet::keystore_address((*cfg)->keystore);
    if (!payer) return report(payer.error());

    auto s = store::store::open((*cfg)->store_dir);
    if (!s) return report(s.error());
    const std::uint64_t now = (*s)->now_ms();
    auto since = st::parse_time(o->get_or("since", "7d"), now);
    if (!since) return report(since.error(), 2);
    std::vector<st::ledger_row> rows;
    for (const auto state : {st::status::in_doubt, st::status::failed, st::status::expired}) {
        st::ledger_query q;
        q.state = state;
        if (state == st::status::expired) q.since_ms = *since;
        auto found = (*s)->list_ledger(q);
        if (!found) return report(found.error());
        rows.insert(rows.end(), found->begin(), found->end());
    }

    const auto registry = protocol::network_registry::builtin();
    std::size_t paid = 0;
    std::size_t released = 0;
    std::size_t errors = 0;
    for (const auto& r : rows) {
        const auto result = reconcile_row(**s, **rpc, *chain, registry, *payer, r, now, dry_run);
        paid += result.paid ? 1 : 0;
        released += result.released ? 1 : 0;
        errors += result.error ? 1 : 0;
        std::cout << "#" << r.id << " " << r.agent << " "
                  << protocol::format_units(r.amount_atomic, r.asset_decimals) << " "
                  << st::to_string(r.state) << ": " << result.text << "\n";
    }
    std::cout << "checked " << rows.size() << " row(s) against chain " << *chain << " for payer "
              << payer->to_checksum() << ": " << paid << (dry_run ? " would become" : " now")
              << " paid, " << released << " released"
              << (errors != 0 ? ", " + std::to_string(errors) + " error(s)" : "")
              << "\n";
    return errors == 0 ? 0 : 1;
}

}  // namespace purser::cli
