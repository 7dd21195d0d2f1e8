// purser iou balance [--merchant URL] [--format table|json]: the IOU channels this wallet pays
// into, as the store keeps them (what was deposited, what the merchant charged and claimed, the
// highest voucher signed, what is left).
// purser iou refund --merchant URL [--amount X] [--channel N]: the cooperative refund of what the
// merchant has not charged, asked of the merchant with a zero-charge voucher (x402.md §5.2).
// purser iou withdraw --merchant URL [--amount X] [--channel N]: the timed exit on chain.
// Without --channel, refund and withdraw handle every channel with the merchant in one run
// (payment.iou.channels keeps up to 64 of them, salt = index).
#include <algorithm>
#include <functional>
#include <iostream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "command_table.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "proxy_payment.hpp"
#include "purser/chain/reads.hpp"
#include "purser/chain/send.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/escrow_calls.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/proxy/payment_flow.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/url.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/testnet/http.hpp"
#include "purser/wallet/batch.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"
#include "rpc_options.hpp"
#include "wallet_unlock.hpp"

namespace purser::cli {
namespace {

namespace st = purser::store;

std::string units(const protocol::uint256& atomic, unsigned decimals) {
    return protocol::format_units(atomic, decimals);
}

int balance(const options& o) {
    const std::string format = o.get_or("format", "table");
    if (format != "table" && format != "json") return report("--format " + format + ": use table or json", 2);
    std::optional<std::string> host;
    if (auto m = o.get("merchant")) {
        auto url = protocol::parse_url(*m);
        if (!url) return report("--merchant " + *m + ": " + url.error().message(), 2);
        host = st::ledger_host(url->host);
    }
    auto s = open_proxy_store(o);
    if (!s) return report(s.error());
    auto channels = (*s)->list_channels();
    if (!channels) return report(channels.error());
    std::size_t shown = 0;
    if (format == "table") {
        std::printf("%-12s %-24s %-11s %12s %12s %12s %12s %12s\n", "CHANNEL", "MERCHANT", "STATE",
                    "DEPOSITED", "CHARGED", "CLAIMED", "EXPOSURE", "AVAILABLE");
    }
    for (const auto& c : *channels) {
        if (host && c.merchant != *host) continue;
        ++shown;
        if (format == "json") {
            nlohmann::ordered_json j;
            j["channel"] = c.id;
            j["merchant"] = c.merchant;
            j["network"] = c.network;
            j["token"] = c.token;
            j["receiver"] = c.receiver;
            j["state"] = std::string(st::to_string(c.state));
            j["deposited"] = c.deposited.to_decimal();
            j["deposit_pending"] = c.deposit_pending.to_decimal();
            j["charged"] = c.charged.to_decimal();
            j["claimed"] = c.claimed.to_decimal();
            j["signed_max"] = c.signed_max.to_decimal();
            j["exposure"] = c.exposure().to_decimal();
            j["available"] = c.available().to_decimal();
            j["decimals"] = c.decimals;
            j["note"] = c.note;
            std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
            continue;
        }
        // Merchant text (the note) is printed only after control characters are removed.
        std::printf("%-12s %-24s %-11s %12s %12s %12s %12s %12s\n",
                    (c.id.substr(0, 10) + "..").c_str(), st::printable(c.merchant).substr(0, 24).c_str(),
                    std::string(st::to_string(c.state)).c_str(), units(c.deposited, c.decimals).c_str(),
                    units(c.charged, c.decimals).c_str(), units(c.claimed, c.decimals).c_str(),
                    units(c.exposure(), c.decimals).c_str(), units(c.available(), c.decimals).c_str());
        if (!c.note.empty()) std::printf("  note: %s\n", st::printable(c.note).c_str());
    }
    if (format == "table" && shown == 0) {
        std::cout << (host ? "no IOU channel with " + *host : std::string("no IOU channels yet"))
                  << "\n";
    }
    return 0;
}

/// A response header (names are lowercase in http_reply), nullopt when absent.
std::optional<std::string> header_of(const testnet::http_reply& r, const std::string& lower_name) {
    auto it = r.headers.find(lower_name);
    if (it == r.headers.end()) return std::nullopt;
    return it->second;
}

/// The channel this wallet has (or would have) with the merchant at --merchant, read from the
/// terms of its 402 (payTo, receiverAuthorizer, token, withdrawDelay), and the unlocked signer.
struct merchant_channel {
    std::string url_text;
    protocol::url url;
    protocol::payment_required terms;
    protocol::payment_requirements offer;
    std::unique_ptr<wallet::local_signer> signer;
    wallet::batch_channel first;    ///< Channel 0 (salt zero), as make_batch_channel builds it.
    std::optional<std::uint32_t> only;  ///< --channel N: act on that channel alone.
    wallet::batch_channel channel;  ///< The channel acted on now (select_channel).
    std::string id;
    std::string network;  ///< CAIP-2
    unsigned decimals = 6;
};

/// With payment.iou.channels above 1 the wallet keeps channels 0..N-1 with the merchant (salt =
/// index): makes channel `index` the one acted on.
void select_channel(merchant_channel& mc, std::uint32_t index) {
    mc.channel = wallet::with_salt(mc.first, wallet::indexed_salt(index));
    mc.id = protocol::to_hex(mc.channel.id);
}

/// The most channels the proxy keeps with one merchant (payment.iou.channels is 1 to 64).
constexpr std::uint32_t max_channels = 64;

/// The channels a refund or withdrawal acts on: --channel N alone; else every channel with the
/// merchant the store knows, and, when `held_on_chain` is given, those of the configured
/// payment.iou.channels the escrow holds money for although the store lost them.
result<std::vector<std::uint32_t>> channel_indexes(const options& o, merchant_channel& mc, const st::store& s,
                                                   const std::function<result<bool>(const wallet::batch_channel&)>*
                                                       held_on_chain = nullptr) {
    if (mc.only) return std::vector<std::uint32_t>{*mc.only};
    PURSER_TRY(stored, s.list_channels());
    std::set<std::string> known;
    for (const auto& c : stored) known.insert(c.id);
    std::uint32_t configured = 1;
    if (held_on_chain != nullptr) {
        PURSER_TRY(cfg, resolve_config(o));
        PURSER_TRY(policy, configured_iou_policy(*cfg));
        configured = std::max<std::uint32_t>(1, policy.channels);
    }
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < max_channels; ++i) {
        select_channel(mc, i);
        bool take = known.count(mc.id) != 0;
        if (!take && held_on_chain != nullptr && i < configured) {
            PURSER_TRY(held, (*held_on_chain)(mc.channel));
            take = held;
        }
        if (take) out.push_back(i);
    }
    return out;
}

result<merchant_channel> read_merchant_channel(const options& o, const std::string& usage,
                                               testnet::http_call_options& call) {
    const auto url_text = o.get("merchant");
    if (!url_text) return fail(protocol::errc::missing_field, usage);
    auto url = protocol::parse_url(*url_text);
    if (!url) return fail(url.error().code, "--merchant " + *url_text + ": " + url.error().message());
    if (auto ca = o.get("cacert")) call.ca_file = std::filesystem::path(*ca);
    merchant_channel out;
    out.url_text = *url_text;
    out.url = *url;
    auto unpaid = testnet::http_call("GET", *url_text, call);
    if (!unpaid) return tl::unexpected(unpaid.error());
    if (unpaid->status != 402) {
        return fail(protocol::errc::invalid_value, *url_text + " answered " + std::to_string(unpaid->status) +
                                                       ", not 402: give the URL of a route the merchant charges for");
    }
    auto terms = protocol::read_payment_required(header_of(*unpaid, "payment-required"), unpaid->body);
    if (!terms) return fail(terms.error().code, "the merchant's 402: " + terms.error().message());
    out.terms = std::move(*terms);
    const protocol::payment_requirements* offer = nullptr;
    for (const auto& a : out.terms.accepts) {
        if (a.scheme == "batch-settlement") offer = &a;
    }
    if (offer == nullptr) return fail(protocol::errc::unsupported_scheme, *url_text + " offers no batch-settlement channel");
    out.offer = *offer;
    PURSER_TRY(key, unlock_key(o));
    out.signer = std::make_unique<wallet::local_signer>(std::move(key));
    const auto registry = protocol::network_registry::builtin();
    PURSER_TRY(channel, wallet::make_batch_channel(out.signer->address(), out.offer, registry));
    out.first = channel;
    if (auto index_text = o.get("channel")) {
        auto index = protocol::uint256::from_decimal(*index_text);
        if (!index || !index->fits_bits(32)) {
            return fail(protocol::errc::invalid_value, "--channel " + *index_text + ": a channel index 0, 1, ...");
        }
        out.only = static_cast<std::uint32_t>(index->low64());
    }
    select_channel(out, out.only.value_or(0));
    const auto* net = registry.find(out.offer.network);
    if (net == nullptr) return fail(protocol::errc::unknown_network, out.offer.network);
    out.network = net->caip2;
    if (auto token = protocol::address::parse(out.offer.asset)) {
        if (const auto* asset = registry.find_asset(*net, *token)) out.decimals = asset->decimals;
    }
    return out;
}

/// The chain behind --rpc, checked to be the channel's own: a transaction signed for one chain
/// must never be sent to another's node.
result<std::unique_ptr<chain::json_rpc_client>> channel_rpc(const options& o, const merchant_channel& mc) {
    PURSER_TRY(rpc, rpc_from_options(o));
    PURSER_TRY(chain_id, chain::rpc_chain_id(*rpc));
    if (chain_id != mc.channel.chain_id) {
        return fail(protocol::errc::invalid_value, "--rpc is chain " + std::to_string(chain_id) + ", the channel is on " +
                                                       mc.network);
    }
    return rpc;
}

/// A missing --merchant is a usage error (exit 2); anything else read_merchant_channel says, 1.
int report_usage_or(const error& e) {
    return report(e, e.code == make_error_code(protocol::errc::missing_field) ? 2 : 1);
}

/// Asks the merchant to refund what it has not charged on the selected channel (mc.channel).
int refund_one(const options& o, const merchant_channel& mc, st::store& store,
               testnet::http_call_options call) {
    const std::string& id = mc.id;
    const auto& url = mc.url;
    const auto& url_text = mc.url_text;
    wallet::local_signer& signer = *mc.signer;
    const auto* channel = &mc.channel;
    const auto& terms = mc.terms;
    const auto* offer = &mc.offer;

    auto stored = store.get_channel(id);
    if (!stored) return report(stored.error());
    if (!*stored) return report("no IOU channel " + id + " with " + url.host + " in the store");
    const st::channel& c = **stored;

    // With the chain at hand (--rpc or PURSER_TESTNET_RPC), what came back is measured on the
    // escrow, not taken from the merchant's receipt.
    std::unique_ptr<chain::json_rpc_client> rpc;
    std::optional<protocol::uint256> balance_before;
    if (o.get("rpc") || std::getenv("PURSER_TESTNET_RPC") != nullptr) {
        auto opened = channel_rpc(o, mc);
        if (!opened) return report(opened.error());
        rpc = std::move(*opened);
        auto held = chain::read_escrow_channel(*rpc, protocol::batch_settlement_contract(), channel->id);
        if (!held) return report(held.error());
        balance_before = held->balance;
    }

    // A refund voucher charges nothing: it repeats the running total the merchant reported,
    // which is never above what was signed, so no new exposure is signed here.
    auto voucher = wallet::sign_voucher(signer, channel->chain_id, channel->id, c.charged);
    if (!voucher) return report(voucher.error());
    protocol::ojson scheme_payload = wallet::voucher_payload(*channel, *voucher);
    scheme_payload["type"] = "refund";
    if (auto amount = o.get("amount")) {
        auto atomic = protocol::parse_units(*amount, c.decimals);
        if (!atomic) return report("--amount " + *amount + ": " + atomic.error().message(), 2);
        scheme_payload["amount"] = atomic->to_decimal();
    }
    const auto payload = protocol::make_payment_payload(terms, *offer, std::move(scheme_payload));
    call.headers.emplace_back(std::string(protocol::payment_header_name(payload.x402_version)),
                              protocol::encode_payment_header(payload));
    auto answered = testnet::http_call("GET", url_text, call);
    if (!answered) return report(answered.error());
    auto receipt_header = header_of(*answered, "payment-response");
    if (answered->status != 200 || !receipt_header) {
        std::string why = "HTTP " + std::to_string(answered->status);
        if (auto again = header_of(*answered, "payment-required")) {
            if (auto t = protocol::decode_payment_required_header(*again); t && !t->error.empty()) {
                why += ": " + t->error;
            }
        }
        return report("the merchant refused the refund (" + st::printable(why).substr(0, 200) + ")");
    }
    auto receipt = protocol::decode_settle_response_header(*receipt_header);
    if (!receipt || !receipt->success) {
        return report("the merchant's refund receipt is unreadable or says it failed");
    }
    // The receipt's amount is the merchant's word; the escrow's balance drop is the chain's.
    // Without the chain the store counts the receipt, and only up to what the channel holds.
    protocol::uint256 returned = receipt->amount ? *receipt->amount : protocol::uint256{};
    std::string source = "the merchant's receipt";
    if (rpc) {
        auto after = chain::read_escrow_channel(*rpc, protocol::batch_settlement_contract(), channel->id);
        if (!after) return report(after.error());
        returned = *balance_before > after->balance ? *balance_before->sub(after->balance) : protocol::uint256{};
        source = "the escrow on chain";
    }
    const std::string refunded = units(returned, c.decimals);
    const bool whole = !o.get("amount");
    auto noted = store.record_channel_exit(id, returned, whole ? st::channel_state::closed : c.state,
                                           "refunded " + refunded + " (tx " +
                                               st::bounded_text(receipt->transaction, 80) + ")");
    if (!noted) return report(noted.error());
    std::cout << "refunded " << refunded << " from channel " << id << " with " << url.host
              << " (tx " << st::printable(receipt->transaction).substr(0, 80) << "; amount from " << source << ")\n";
    return 0;
}

/// Refunds the channel --channel names, or every channel with the merchant the store has not
/// closed, in one run; the exit status is 1 when any of them failed.
int refund(const options& o) {
    testnet::http_call_options call;
    auto mc = read_merchant_channel(o, "usage: purser iou refund --merchant URL [--amount X] [--channel N]", call);
    if (!mc) return report_usage_or(mc.error());
    auto s = open_proxy_store(o);
    if (!s) return report(s.error());
    auto indexes = channel_indexes(o, *mc, **s);
    if (!indexes) return report(indexes.error());
    if (indexes->empty()) return report("no IOU channel with " + mc->url.host + " in the store");
    int rc = 0;
    for (const std::uint32_t i : *indexes) {
        select_channel(*mc, i);
        if (!mc->only) {
            // Closed channels have nothing left to refund; the others are each asked.
            auto c = (*s)->get_channel(mc->id);
            if (c && *c && (**c).state == st::channel_state::closed) continue;
        }
        rc = std::max(rc, refund_one(o, *mc, **s, call));
    }
    return rc;
}

/// Seconds for a deposit authorization to stay valid: long enough for a slow block, short
/// enough that an unsent one is provably dead soon (`purser ledger reconcile`).
constexpr std::uint64_t deposit_window_s = 600;

/// Deposits --amount into this wallet's channel with the merchant, by the wallet's own
/// transaction: reserved as a deposit row before the authorization is signed.
int deposit(const options& o) {
    testnet::http_call_options call;
    auto mc = read_merchant_channel(o, "usage: purser iou deposit --merchant URL --amount X", call);
    if (!mc) return report_usage_or(mc.error());
    const auto amount_text = o.get("amount");
    if (!amount_text) return report("usage: purser iou deposit --merchant URL --amount X", 2);
    auto amount = protocol::parse_units(*amount_text, mc->decimals);
    if (!amount || amount->is_zero() || !amount->fits_bits(128)) {
        return report("--amount " + *amount_text + ": a positive amount of token units, at most " +
                          std::to_string(mc->decimals) + " decimals",
                      2);
    }
    auto cfg = resolve_config(o);
    if (!cfg) return report(cfg.error());
    auto policy = configured_iou_policy(**cfg);
    if (!policy) return report(policy.error());
    auto cap = [&](const std::string& text) -> result<std::optional<protocol::uint256>> {
        if (text.empty()) return std::optional<protocol::uint256>{};
        PURSER_TRY(v, protocol::parse_units(text, mc->decimals));
        return std::optional<protocol::uint256>{v};
    };
    auto channel_cap = cap(policy->max_channel);
    auto total_cap = cap(policy->max_total);
    if (!channel_cap || !total_cap) return report("payment.iou caps do not fit this token's decimals");
    auto rpc = channel_rpc(o, *mc);
    if (!rpc) return report(rpc.error());
    auto s = open_proxy_store(o);
    if (!s) return report(s.error());

    protocol::bytes32 salt{};
    if (auto r = wallet::random_bytes(salt.data(), salt.size()); !r) return report(r.error());
    const protocol::uint256 salt_value = *protocol::uint256::from_be_bytes(salt);
    auto chain_now = chain::latest_block_time(**rpc);
    if (!chain_now) return report(chain_now.error());
    const std::uint64_t valid_before = *chain_now + deposit_window_s;

    st::ledger_row request;
    request.agent = "";
    request.method = "DEPOSIT";
    request.url = st::bounded_text(mc->url_text, st::max_row_url_bytes);
    request.host = mc->url.host;
    request.x402_version = mc->terms.x402_version;
    request.scheme = "batch-settlement";
    request.network = mc->network;
    request.asset = mc->offer.asset;
    request.asset_decimals = mc->decimals;
    request.amount_atomic = *amount;
    request.pay_to = protocol::erc3009_deposit_collector().to_checksum();
    request.nonce = protocol::to_hex(protocol::deposit_nonce(mc->channel.id, salt_value));
    request.expires_at = valid_before;
    request.payer = mc->signer->address().to_checksum();
    const auto fresh = proxy::channel_record(mc->channel, mc->network, mc->decimals, st::ledger_host(mc->url.host));
    auto row = (*s)->reserve_deposit(fresh, request, *channel_cap, *total_cap);
    if (!row) return report(row.error());

    // Reserved and durable: only now is the authorization signed.
    wallet::deposit_options dopt;
    dopt.salt = salt;
    dopt.valid_before = valid_before;
    auto signed_deposit = wallet::sign_deposit(*mc->signer, mc->channel, *amount, dopt);
    if (!signed_deposit) {
        (void)(*s)->settle_deposit(*row, st::status::released, "", "signing failed");
        return report(signed_deposit.error());
    }
    const protocol::bytes sig(signed_deposit->sig.bytes().begin(), signed_deposit->sig.bytes().end());
    const auto collector_data = protocol::escrow::encode_collector_data(
        {protocol::uint256{}, protocol::uint256{valid_before}, salt_value, sig});
    const auto data = protocol::escrow::encode_deposit(mc->channel.config, *amount,
                                                       protocol::erc3009_deposit_collector(), collector_data);
    bool sent = false;
    auto outcome = chain::send_transaction(**rpc, *mc->signer, protocol::batch_settlement_contract(), data,
                                           [&](const protocol::bytes32&) -> result<void> {
                                               sent = true;
                                               return {};
                                           });
    const std::string units_text = units(*amount, mc->decimals);
    if (!outcome || !outcome->mined || !outcome->succeeded) {
        // Before the bytes left, nothing can move. After, the signed authorization may still be
        // used until it expires: the row stays counted (in_doubt) until the chain proves
        // otherwise (`purser ledger reconcile` after validBefore).
        std::string why = !outcome ? outcome.error().message()
                          : !outcome->mined ? "no receipt yet for " + protocol::to_hex(outcome->hash)
                                            : "the deposit reverted: " + st::printable(outcome->revert_reason);
        const std::string tx = outcome ? protocol::to_hex(outcome->hash) : "";
        (void)(*s)->settle_deposit(*row, sent ? st::status::in_doubt : st::status::released, tx, why);
        return report("deposit of " + units_text + " not confirmed: " + why +
                      (sent ? " (kept in doubt until `purser ledger reconcile` proves it)" : ""));
    }
    auto settled = (*s)->settle_deposit(*row, st::status::paid, protocol::to_hex(outcome->hash), "");
    if (!settled) return report(settled.error());
    std::cout << "deposited " << units_text << " into channel " << mc->id << " with " << mc->url.host
              << " (tx " << protocol::to_hex(outcome->hash) << ")\n";
    return 0;
}

/// The timed exit: starts a withdrawal of what the merchant has not claimed (or --amount), and,
/// run again once the channel's withdrawDelay has passed on chain, finalizes it.
int withdraw_one(const options& o, const merchant_channel& mc, st::store& store, chain::json_rpc_client& rpc,
                 bool quiet_if_empty) {
    auto stored = store.get_channel(mc.id);
    if (!stored) return report(stored.error());
    const auto& escrow_address = protocol::batch_settlement_contract();
    auto held = chain::read_escrow_channel(rpc, escrow_address, mc.channel.id);
    if (!held) return report(held.error());
    if (!*stored) {
        // The store lost the channel (or another store paid into it): the escrow on chain is
        // what there is to leave from, so it is adopted as the proxy would adopt it.
        if (held->balance.is_zero()) return report("no IOU channel " + mc.id + " with " + mc.url.host + " on chain");
        st::channel found = proxy::channel_record(mc.channel, mc.network, mc.decimals, st::ledger_host(mc.url.host));
        found.deposited = held->balance;
        found.claimed = held->total_claimed;
        auto adopted = store.adopt_channel(found);
        if (!adopted) return report(adopted.error());
        *stored = std::move(*adopted);
    }
    const st::channel& c = **stored;
    auto pending = chain::read_pending_withdrawal(rpc, escrow_address, mc.channel.id);
    if (!pending) return report(pending.error());

    if (!pending->amount.is_zero()) {
        const std::uint64_t ready_at = pending->requested_at + mc.channel.config.withdraw_delay;
        auto chain_now = chain::latest_block_time(rpc);
        if (!chain_now) return report(chain_now.error());
        if (*chain_now < ready_at) {
            std::cout << "withdrawal of " << units(pending->amount, mc.decimals) << " pending; it can be finalized in "
                      << (ready_at - *chain_now) << " s (run this again then)\n";
            return 0;
        }
        auto outcome = chain::send_transaction(rpc, *mc.signer, escrow_address,
                                               protocol::escrow::encode_finalize_withdraw(mc.channel.config), {});
        if (!outcome) return report(outcome.error());
        if (!outcome->mined || !outcome->succeeded) {
            return report("finalizeWithdraw " + protocol::to_hex(outcome->hash) +
                          (outcome->mined ? " reverted: " + st::printable(outcome->revert_reason) : " has no receipt yet"));
        }
        // What came back is what the escrow no longer holds, read from the chain.
        auto after = chain::read_escrow_channel(rpc, escrow_address, mc.channel.id);
        if (!after) return report(after.error());
        const protocol::uint256 returned = held->balance > after->balance ? *held->balance.sub(after->balance)
                                                                          : protocol::uint256{};
        const bool empty = after->balance <= after->total_claimed;
        auto noted = store.record_channel_exit(mc.id, returned, empty ? st::channel_state::closed : st::channel_state::open,
                                               "withdrew " + units(returned, mc.decimals) + " (tx " +
                                                   protocol::to_hex(outcome->hash) + ")");
        if (!noted) return report(noted.error());
        std::cout << "withdrew " << units(returned, mc.decimals) << " from channel " << mc.id << " (tx "
                  << protocol::to_hex(outcome->hash) << ")\n";
        return 0;
    }

    const protocol::uint256 unclaimed = held->balance > held->total_claimed ? *held->balance.sub(held->total_claimed)
                                                                            : protocol::uint256{};
    protocol::uint256 amount = unclaimed;
    if (auto text = o.get("amount")) {
        auto parsed = protocol::parse_units(*text, mc.decimals);
        if (!parsed || parsed->is_zero()) return report("--amount " + *text + ": a positive amount of token units", 2);
        amount = *parsed;
    }
    if (amount.is_zero()) {
        if (!quiet_if_empty) return report("nothing to withdraw: the merchant has claimed all of channel " + mc.id);
        std::cout << "nothing to withdraw from channel " << mc.id << ": the merchant has claimed all of it\n";
        return 0;
    }
    if (amount > unclaimed) {
        return report("--amount is above the " + units(unclaimed, mc.decimals) + " the merchant has not claimed");
    }
    // No further vouchers from the moment the exit is decided: recorded before the transaction.
    const st::channel_state before = c.state;
    auto marked = store.set_channel_state(mc.id, st::channel_state::withdrawing, "withdrawal started");
    if (!marked) return report(marked.error());
    auto outcome = chain::send_transaction(rpc, *mc.signer, escrow_address,
                                           protocol::escrow::encode_initiate_withdraw(mc.channel.config, amount), {});
    if (!outcome || (outcome->mined && !outcome->succeeded)) {
        // Refused or reverted: nothing was started on chain, so vouchers may go on.
        (void)store.set_channel_state(mc.id, before, "withdrawal not started");
        return report("initiateWithdraw failed: " +
                      (!outcome ? outcome.error().message() : st::printable(outcome->revert_reason)));
    }
    if (!outcome->mined) return report("initiateWithdraw " + protocol::to_hex(outcome->hash) + " has no receipt yet");
    std::cout << "withdrawal of " << units(amount, mc.decimals) << " started (tx " << protocol::to_hex(outcome->hash)
              << "); the merchant may still claim the vouchers it holds for "
              << mc.channel.config.withdraw_delay << " s; then run this again to finalize\n";
    return 0;
}

/// Withdraws from the channel --channel names, or from every channel with the merchant (those
/// the store has, and those of payment.iou.channels the escrow holds money for), in one run; the
/// exit status is 1 when any of them failed.
int withdraw(const options& o) {
    testnet::http_call_options call;
    auto mc = read_merchant_channel(o, "usage: purser iou withdraw --merchant URL [--amount X] [--channel N]", call);
    if (!mc) return report_usage_or(mc.error());
    auto rpc = channel_rpc(o, *mc);
    if (!rpc) return report(rpc.error());
    auto s = open_proxy_store(o);
    if (!s) return report(s.error());
    const std::function<result<bool>(const wallet::batch_channel&)> held =
        [&](const wallet::batch_channel& ch) -> result<bool> {
        PURSER_TRY(h, chain::read_escrow_channel(**rpc, protocol::batch_settlement_contract(), ch.id));
        return !h.balance.is_zero();
    };
    auto indexes = channel_indexes(o, *mc, **s, &held);
    if (!indexes) return report(indexes.error());
    if (indexes->empty()) return report("no IOU channel with " + mc->url.host + " in the store or on chain");
    int rc = 0;
    for (const std::uint32_t i : *indexes) {
        select_channel(*mc, i);
        rc = std::max(rc, withdraw_one(o, *mc, **s, **rpc, !mc->only && indexes->size() > 1));
    }
    return rc;
}

}  // namespace

int iou_command(const words& args) {
    const std::string sub = args.empty() ? "" : args[0];
    if (sub != "balance" && sub != "refund" && sub != "deposit" && sub != "withdraw") {
        const bool help = wants_help(args);
        (help ? std::cout : std::cerr) << group_help("iou");
        return help ? 0 : 2;
    }
    const words rest(args.begin() + 1, args.end());
    int rc = 0;
    auto o = parse_command("iou " + sub, wants_help(rest) ? words{"--help"} : rest, rc);
    if (!o) return rc;
    if (!o->positional().empty()) return report(help_text(*find_command("iou " + sub)), 2);
    if (sub == "balance") return balance(*o);
    if (sub == "deposit") return deposit(*o);
    if (sub == "withdraw") return withdraw(*o);
    return refund(*o);
}

}  // namespace purser::cli
