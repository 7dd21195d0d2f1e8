// purser iou balance [--merchant URL] [--format table|json]: the IOU channels this wallet pays
// into, as the store keeps them (what was deposited, what the merchant charged and claimed, the
// highest voucher signed, what is left).
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "command_table.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "proxy_settings.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/url.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"

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

}  // namespace

int iou_command(const words& args) {
    const std::string sub = args.empty() ? "" : args[0];
    if (sub != "balance") {
        const bool help = wants_help(args);
        (help ? std::cout : std::cerr) << group_help("iou");
        return help ? 0 : 2;
    }
    const words rest(args.begin() + 1, args.end());
    int rc = 0;
    auto o = parse_command("iou balance", wants_help(rest) ? words{"--help"} : rest, rc);
    if (!o) return rc;
    if (!o->positional().empty()) return report(help_text(*find_command("iou balance")), 2);
    return balance(*o);
}

}  // namespace purser::cli
