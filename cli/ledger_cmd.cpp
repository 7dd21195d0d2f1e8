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
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"

namespace purser::cli {
namespace {

namespace st = purser::store;


/// The ledger's columns, in order, as text (CSV and JSON carry the same names and values).
std::vector<std::pair<std::string, std::string>> fields(const st::ledger_row& r) {
    const bool has_amount = r.asset_decimals != 0 || !r.amount_atomic.is_zero();
    return {
        {"id", std::to_string(r.id)},
        {"time", st::iso8601_utc(r.at_ms)},
        {"agent", r.agent},
        {"method", r.method},
        {"url", r.url},
        {"host", r.host},
        {"x402_version", r.x402_version != 0 ? std::to_string(r.x402_version) : ""},
        {"scheme", r.scheme},
        {"network", r.network},
        {"asset", r.asset},
        {"amount", has_amount ? r.amount_atomic.to_decimal() : ""},
        {"amount_usd", r.amount_usd != 0 ? st::format_usd(r.amount_usd) : (has_amount ? "0" : "")},
        {"pay_to", r.pay_to},
        {"nonce", r.nonce},
        {"expires_at", r.expires_at != 0 ? st::iso8601_utc(r.expires_at * 1000) : ""},
        {"status", std::string(st::to_string(r.state))},
        {"reason", r.why ? std::string(st::to_string(*r.why)) : ""},
        {"detail", r.detail},
        {"tx_hash", r.tx_hash},
        {"charged", r.charged_atomic ? r.charged_atomic->to_decimal() : ""},
        {"charged_usd", r.charged_atomic ? st::format_usd(r.charged_usd) : ""},
        {"merchant_status", r.merchant_status != 0 ? std::to_string(r.merchant_status) : ""},
        {"latency_ms", r.state == st::status::paid || r.latency_ms != 0
                           ? std::to_string(r.latency_ms) : ""},
        {"updated", st::iso8601_utc(r.updated_ms)},
        {"payer", r.payer},
        {"repeats", std::to_string(r.repeats)},
        {"kind", r.kind == st::row_kind::deposit ? "deposit" : "payment"},
    };
}

/// Fields JSON writes as numbers (null when the text form is empty); every other field,
/// amounts included, stays a string so no consumer rounds a 256-bit amount through a double.
bool numeric_field(const std::string& key) {
    return key == "id" || key == "x402_version" || key == "merchant_status" || key == "latency_ms" ||
           key == "repeats";
}

nlohmann::ordered_json to_json(const st::ledger_row& r) {
    nlohmann::ordered_json line = nlohmann::ordered_json::object();
    for (auto& [k, v] : fields(r)) {
        if (!numeric_field(k)) {
            line[k] = v;
        } else if (v.empty()) {
            line[k] = nullptr;
        } else {
            line[k] = std::stoull(v);
        }
    }
    return line;
}

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

/// RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside.
std::string csv_field(const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string shorten(const std::string& s, std::size_t n) {
    return s.size() <= n ? s : s.substr(0, n - 1) + "~";
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
    for (const auto& [k, v] : fields(*r)) {
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
    auto s = open_proxy_store(*o);
    if (!s) return report(s.error());
    const std::uint64_t now = (*s)->now_ms();

    st::ledger_query q;
    auto since = st::parse_time(o->get_or("since", "24h"), now);
    if (!since) return report(since.error(), 2);
    q.since_ms = *since;
    if (auto until = o->get("until")) {
        auto t = st::parse_time(*until, now);
        if (!t) return report(t.error(), 2);
        q.until_ms = *t;
    }
    q.agent = o->get("agent");
    if (auto host = o->get("host")) {
        std::string h = *host;
        for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        q.host = h;
    }
    if (auto status = o->get("status")) {
        auto st_value = st::status_from_string(*status);
        if (!st_value) return report("--status " + *status + ": unknown status", 2);
        q.state = *st_value;
    }
    if (auto limit = o->get("limit")) {
        try {
            std::size_t used = 0;
            q.limit = std::stoul(*limit, &used);
            if (used != limit->size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
            return report("--limit " + *limit + ": a whole number", 2);
        }
    }
    auto rows = (*s)->list_ledger(q);
    if (!rows) return report(rows.error());

    if (format == "json") {
        for (const auto& r : *rows) {
            std::cout << to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
        }
        return 0;
    }
    if (format == "csv") {
        bool first = true;
        const auto header = fields(st::ledger_row{});
        for (const auto& [k, v] : header) {
            std::cout << (first ? "" : ",") << csv_field(k);
            first = false;
        }
        std::cout << "\r\n";
        for (const auto& r : *rows) {
            first = true;
            for (const auto& [k, v] : fields(r)) {
                // Merchant text may carry terminal escapes: shown, never interpreted.
                std::cout << (first ? "" : ",") << csv_field(st::printable(v, true));
                first = false;
            }
            std::cout << "\r\n";
        }
        return 0;
    }
    // TX in full (a hash cut short cannot be looked up); URL last, since it has no fixed width.
    std::printf("%-8s %-24s %-14s %-9s %-34s %12s %-66s %s\n", "ID", "TIME", "AGENT", "STATUS",
                "REASON", "USD", "TX", "URL");
    for (const auto& r : *rows) {
        const auto f = fields(r);
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
