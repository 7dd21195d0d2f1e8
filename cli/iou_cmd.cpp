// purser iou balance [--merchant URL] [--format table|json]: the IOU channels this wallet pays
// into, as the store keeps them (what was deposited, what the merchant charged and claimed, the
// highest voucher signed, what is left).
// purser iou refund --merchant URL [--amount X]: the cooperative refund of what the merchant has
// not charged, asked of the merchant with a zero-charge voucher (x402.md §5.2).
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "command_table.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/url.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/testnet/http.hpp"
#include "purser/wallet/batch.hpp"
#include "purser/wallet/signer.hpp"
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

/// Asks the merchant at `url` to refund what it has not charged on this wallet's channel with it.
int refund(const options& o) {
    const auto url_text = o.get("merchant");
    if (!url_text) return report("usage: purser iou refund --merchant URL [--amount X]", 2);
    auto url = protocol::parse_url(*url_text);
    if (!url) return report("--merchant " + *url_text + ": " + url.error().message(), 2);
    testnet::http_call_options call;
    if (auto ca = o.get("cacert")) call.ca_file = std::filesystem::path(*ca);

    // The merchant's terms name the channel: payTo, receiverAuthorizer, token, withdrawDelay.
    auto unpaid = testnet::http_call("GET", *url_text, call);
    if (!unpaid) return report(unpaid.error());
    if (unpaid->status != 402) {
        return report(*url_text + " answered " + std::to_string(unpaid->status) +
                      ", not 402: give the URL of a route the merchant charges for");
    }
    auto terms = protocol::read_payment_required(header_of(*unpaid, "payment-required"), unpaid->body);
    if (!terms) return report("the merchant's 402: " + terms.error().message());
    const protocol::payment_requirements* offer = nullptr;
    for (const auto& a : terms->accepts) {
        if (a.scheme == "batch-settlement") offer = &a;
    }
    if (offer == nullptr) return report(*url_text + " offers no batch-settlement channel");

    auto key = unlock_key(o);
    if (!key) return report(key.error());
    wallet::local_signer signer(std::move(*key));
    const auto registry = protocol::network_registry::builtin();
    auto channel = wallet::make_batch_channel(signer.address(), *offer, registry);
    if (!channel) return report(channel.error());
    const std::string id = protocol::to_hex(channel->id);

    auto s = open_proxy_store(o);
    if (!s) return report(s.error());
    auto stored = (*s)->get_channel(id);
    if (!stored) return report(stored.error());
    if (!*stored) return report("no IOU channel " + id + " with " + url->host + " in the store");
    const st::channel& c = **stored;

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
    const auto payload = protocol::make_payment_payload(*terms, *offer, std::move(scheme_payload));
    call.headers.emplace_back(std::string(protocol::payment_header_name(payload.x402_version)),
                              protocol::encode_payment_header(payload));
    auto answered = testnet::http_call("GET", *url_text, call);
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
    const std::string refunded = receipt->amount ? units(*receipt->amount, c.decimals) : "?";
    const bool whole = !o.get("amount");
    auto noted = (*s)->set_channel_state(id, whole ? st::channel_state::closed : c.state,
                                         "refunded " + refunded + " (tx " +
                                             st::bounded_text(receipt->transaction, 80) + ")");
    if (!noted) return report(noted.error());
    std::cout << "refunded " << refunded << " from channel " << id << " with " << url->host
              << " (tx " << st::printable(receipt->transaction).substr(0, 80) << ")\n";
    return 0;
}

}  // namespace

int iou_command(const words& args) {
    const std::string sub = args.empty() ? "" : args[0];
    if (sub != "balance" && sub != "refund") {
        const bool help = wants_help(args);
        (help ? std::cout : std::cerr) << group_help("iou");
        return help ? 0 : 2;
    }
    const words rest(args.begin() + 1, args.end());
    int rc = 0;
    auto o = parse_command("iou " + sub, wants_help(rest) ? words{"--help"} : rest, rc);
    if (!o) return rc;
    if (!o->positional().empty()) return report(help_text(*find_command("iou " + sub)), 2);
    return sub == "balance" ? balance(*o) : refund(*o);
}

}  // namespace purser::cli
