// purser ledger [--since 24h] [--until T] [--agent A] [--host H] [--status S]
//               [--format table|csv|json] [--limit N]
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "command_table.hpp"
#include "listing_text.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/store/views.hpp"

namespace purser::cli {
namespace {

namespace st = purser::store;


using st::row_fields;

nlohmann::ordered_json to_json(const st::ledger_row& r) { return st::row_json(r); }

/// The table's REASON: the decline code, or for rows that failed or are in doubt the first
/// words of the detail (the cause), or the merchant's status when there is no detail.
std::string short_reason(const st::ledger_row& r) {
    // A folded decline says how many identical declines it stands for.
    if (r.why) {
        return std::string(st::to_string(*r.why)) +
               (r.repeats > 1 ? " x" + std::to_string(r.repeats) : "");
    }
    // A deposit moved wallet money into an IOU channel: counted against no agent.
    if (r.kind == st::row_kind::deposit) return "iou deposit";
    if (r.state == st::status::paid || r.state == st::status::reserved) return "";
    std::string cause;
    int words = 0;
    for (char c : st::printable(r.detail)) {
        if (c == ' ' && ++words == 4) break;
        cause += c;
    }
    while (!cause.empty() && (cause.back() == ':' || cause.back() == ',' || cause.back() == ' '))
        cause.pop_back();
    if (cause.empty() && r.merchant_status != 0) cause = "http_" + std::to_string(r.merchant_status);
    return cause;
}

/// purser ledger show ID [--format table|json]: one row, every field.
int ledger_show_command(const words& args) {
    int rc = 0;
    auto o = parse_command("ledger show", args, rc);
    if (!o) return rc;
    if (o->positional().size() != 1) return report(help_text(*find_command("ledger show")), 2);
    const std::string& text = o->positional()[0];
    std::uint64_t id = 0;
    try {
        std::size_t used = 0;
        id = std::stoull(text, &used);
        if (used != text.size() || text.front() == '-') throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
        return report("ledger show " + text + ": the id is a whole number", 2);
    }
    const std::string format = o->get_or("format", "table");
    if (format != "table" && format != "json") {
        return report("--format " + format + ": use table or json", 2);
    }
    auto s = open_proxy_store(*o);
    if (!s) return report(s.error());
    auto r = (*s)->get_row(id);
    if (!r) return report("ledger row " + text + ": " + r.error().message());
    if (format == "json") {
        std::cout << to_json(*r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
        return 0;
    }
    for (const auto& [k, v] : row_fields(*r)) {
        // Merchant text may carry terminal escapes: shown, never interpreted.
        std::printf("%-16s %s\n", (k + ":").c_str(), st::printable(v).c_str());
    }
    return 0;
}

/// Appends rows to an archive as JSON lines (the `ledger --format json` form) and makes them
/// durable before the store deletes them.
class jsonl_archive {
public:
    static result<std::unique_ptr<jsonl_archive>> open(const std::string& path) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
            return fail(protocol::errc::invalid_value,
                        "--archive " + path + ": " + std::strerror(errno));
        }
        return std::unique_ptr<jsonl_archive>(new jsonl_archive(fd, path));
    }
    ~jsonl_archive() { ::close(fd_); }
    jsonl_archive(const jsonl_archive&) = delete;
    jsonl_archive& operator=(const jsonl_archive&) = delete;

    result<void> write(const std::vector<st::ledger_row>& rows) {
        std::string text;
        for (const auto& r : rows)
            text += to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        for (std::size_t done = 0; done < text.size();) {
            const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return fail(protocol::errc::invalid_value, "--archive " + path_ + ": " + std::strerror(errno));
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd_) != 0) return fail(protocol::errc::invalid_value, "--archive " + path_ + ": fsync: " + std::strerror(errno));
        return {};
    }

private:
    jsonl_archive(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_;
    std::string path_;
};

/// purser ledger prune --before T [--archive FILE]
int ledger_prune_command(const words& args) {
    int rc = 0;
    auto o = parse_command("ledger prune", args, rc);
    if (!o) return rc;
    auto before_text = o->get("before");
    if (!before_text || !o->positional().empty()) return report(help_text(*find_command("ledger prune")), 2);
    auto s = open_proxy_store(*o);
    if (!s) return report(s.error());
    auto before = st::parse_time(*before_text, (*s)->now_ms());
    if (!before) return report(before.error(), 2);
    std::unique_ptr<jsonl_archive> archive;
    if (auto path = o->get("archive")) {
        auto opened = jsonl_archive::open(*path);
        if (!opened) return report(opened.error());
        archive = std::move(*opened);
    }
    std::function<result<void>(const std::vector<st::ledger_row>&)> sink;
    if (archive) sink = [&](const std::vector<st::ledger_row>& rows) { return archive->write(rows); };
    auto done = (*s)->prune(*before, sink);
    if (!done) return report(done.error());
    std::cout << "pruned " << done->rows << " rows decided before " << st::iso8601_utc(*before);
    if (archive) std::cout << " (" << done->paid << " paid), archived to " << *o->get("archive");
    std::cout << "\n";
    if (done->kept_paid != 0)
        std::cout << "kept " << done->kept_paid << " paid rows: paid rows are pruned only with --archive FILE\n";
    if (done->kept_unshipped != 0)
        std::cout << "kept " << done->kept_unshipped
                  << " rows not yet shipped to the fleet database (the proxy ships them)\n";
    if (done->kept_open != 0)
        std::cout << "kept " << done->kept_open
                  << " rows that may still move money (reserved, failed, in doubt): `purser ledger reconcile` settles them\n";
    return 0;
}

}  // namespace

int ledger_command(const words& args) {
    if (!args.empty() && args[0] == "reconcile") {
        return ledger_reconcile_command(words(args.begin() + 1, args.end()));
    }
    if (!args.empty() && args[0] == "show") {
        return ledger_show_command(words(args.begin() + 1, args.end()));
    }
    if (!args.empty() && args[0] == "prune") {
        return ledger_prune_command(words(args.begin() + 1, args.end()));
    }
    if (wants_help(args)) {
        std::cout << help_text(*find_command("ledger")) << "\n" << group_help("ledger");
        return 0;
    }
    int rc = 0;
    auto o = parse_command("ledger", args, rc);
    if (!o) return rc;
    if (!o->positional().empty()) return report(help_text(*find_command("ledger")), 2);
    const std::string format = o->get_or("format", "table");
    if (format != "table" && format != "csv" && format != "json") {
        return report("--format " + format + ": use table, csv or json", 2);
    }
    if (o->has("fleet")) return fleet_ledger_listing(*o, format);
    if (o->has("proxy")) return report("--proxy needs --fleet (one store has one proxy)", 2);
    auto s = open_proxy_store(*o);
    if (!s) return report(s.error());
    const std::uint64_t now = (*s)->now_ms();

    auto q = st::ledger_filters([&](const std::string& name) { return o->get(name); }, now);
    if (!q) return report("--" + q.error().detail, 2);
    auto rows = (*s)->list_ledger(*q);
    if (!rows) return report(rows.error());

    if (format == "json") {
        for (const auto& r : *rows) {
            std::cout << to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
        }
        return 0;
    }
    if (format == "csv") {
        print_csv_line(row_fields(st::ledger_row{}), true);
        for (const auto& r : *rows) print_csv_line(row_fields(r), false);
        return 0;
    }
    // TX in full (a hash cut short cannot be looked up); URL last, since it has no fixed width.
    std::printf("%-8s %-24s %-14s %-9s %-34s %12s %-66s %s\n", "ID", "TIME", "AGENT", "STATUS",
                "REASON", "USD", "TX", "URL");
    for (const auto& r : *rows) {
        const auto f = row_fields(r);
        std::printf("%-8s %-24s %-14s %-9s %-34s %12s %-66s %s\n", f[0].second.c_str(),
                    f[1].second.c_str(), shorten(st::printable(r.agent), 14).c_str(),
                    f[15].second.c_str(), shorten(short_reason(r), 34).c_str(),
                    f[11].second.c_str(), st::printable(r.tx_hash).c_str(),
                    st::printable(r.url).c_str());
    }
    if (rows->empty()) std::cout << "(no ledger rows in that range)\n";
    return 0;
}

}  // namespace purser::cli
