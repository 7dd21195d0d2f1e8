#include "purser/store/views.hpp"

#include <cctype>
#include <charconv>

#include "purser/store/errc.hpp"
#include "purser/store/text.hpp"

namespace purser::store {

std::vector<std::pair<std::string, std::string>> row_fields(const ledger_row& r) {
    const bool has_amount = r.asset_decimals != 0 || !r.amount_atomic.is_zero();
    return {
        {"id", std::to_string(r.id)},
        {"time", iso8601_utc(r.at_ms)},
        {"agent", r.agent},
        {"method", r.method},
        {"url", r.url},
        {"host", r.host},
        {"x402_version", r.x402_version != 0 ? std::to_string(r.x402_version) : ""},
        {"scheme", r.scheme},
        {"network", r.network},
        {"asset", r.asset},
        {"amount", has_amount ? r.amount_atomic.to_decimal() : ""},
        {"amount_usd", r.amount_usd != 0 ? format_usd(r.amount_usd) : (has_amount ? "0" : "")},
        {"pay_to", r.pay_to},
        {"nonce", r.nonce},
        {"expires_at", r.expires_at != 0 ? iso8601_utc(r.expires_at * 1000) : ""},
        {"status", std::string(to_string(r.state))},
        {"reason", r.why ? std::string(to_string(*r.why)) : ""},
        {"detail", r.detail},
        {"tx_hash", r.tx_hash},
        {"charged", r.charged_atomic ? r.charged_atomic->to_decimal() : ""},
        {"charged_usd", r.charged_atomic ? format_usd(r.charged_usd) : ""},
        {"merchant_status", r.merchant_status != 0 ? std::to_string(r.merchant_status) : ""},
        {"latency_ms", r.state == status::paid || r.latency_ms != 0
                           ? std::to_string(r.latency_ms) : ""},
        {"updated", iso8601_utc(r.updated_ms)},
        {"payer", r.payer},
        {"repeats", std::to_string(r.repeats)},
        {"kind", r.kind == row_kind::deposit ? "deposit" : "payment"},
    };
}

namespace {

bool numeric_field(const std::string& key) {
    return key == "id" || key == "x402_version" || key == "merchant_status" || key == "latency_ms" ||
           key == "repeats";
}

nlohmann::ordered_json usd_or_null(const std::optional<usd_micros>& v) {
    if (!v) return nullptr;
    return format_usd(*v);
}

error bad(const std::string& detail) {
    return error{make_error_code(errc::invalid_argument), detail};
}

}  // namespace

nlohmann::ordered_json row_json(const ledger_row& r) {
    nlohmann::ordered_json line = nlohmann::ordered_json::object();
    for (auto& [k, v] : row_fields(r)) {
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

nlohmann::ordered_json agent_json(const agent& a, const agent_usage& u) {
    const policy& p = a.limits;
    nlohmann::ordered_json limits = {
        {"per_request", usd_or_null(p.per_request)},
        {"daily", usd_or_null(p.daily)},
        {"monthly", usd_or_null(p.monthly)},
        {"lifetime", usd_or_null(p.lifetime)},
        {"in_flight", usd_or_null(p.in_flight)},
        {"payments_per_minute",
         p.payments_per_minute ? nlohmann::ordered_json(*p.payments_per_minute) : nullptr},
        {"allow_hosts", p.allow_hosts},
        {"deny_hosts", p.deny_hosts},
        {"allow_networks", p.allow_networks},
        {"allow_assets", p.allow_assets},
    };
    return {
        {"name", a.name},
        {"frozen", a.frozen},
        {"created", iso8601_utc(a.created_ms)},
        {"limits", std::move(limits)},
        {"spent_today", format_usd(u.spent_today)},
        {"spent_month", format_usd(u.spent_month)},
        {"spent_lifetime", format_usd(u.spent_lifetime)},
        {"in_flight", format_usd(u.in_flight)},
        {"allowance", usd_or_null(u.allowance)},
    };
}

nlohmann::ordered_json spend_json(const spend_row& r, const std::string& by) {
    nlohmann::ordered_json line;
    line[by] = r.key;
    if (!r.day.empty()) line["day"] = r.day;
    line["approved"] = r.approved;
    line["paid"] = r.paid;
    line["declined"] = r.declined;
    line["spent_usd"] = format_usd(r.spent_usd);
    line["paid_usd"] = format_usd(r.paid_usd);
    line["held_usd"] = format_usd(r.spent_usd - r.paid_usd);
    return line;
}

result<ledger_query> ledger_filters(
    const std::function<std::optional<std::string>(const std::string& name)>& value,
    std::uint64_t now_ms) {
    ledger_query q;
    const std::string since = value("since").value_or("24h");
    auto from = parse_time(since, now_ms);
    if (!from) return tl::unexpected(bad("since: " + from.error().detail));
    q.since_ms = *from;
    if (auto until = value("until")) {
        auto t = parse_time(*until, now_ms);
        if (!t) return tl::unexpected(bad("until: " + t.error().detail));
        q.until_ms = *t;
    }
    q.agent = value("agent");
    if (auto host = value("host")) {
        std::string h = *host;
        for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        q.host = h;
    }
    if (auto text = value("status")) {
        auto s = status_from_string(*text);
        if (!s) return tl::unexpected(bad("status " + *text + ": unknown status"));
        q.state = *s;
    }
    if (auto limit = value("limit")) {
        std::size_t n = 0;
        const char* end = limit->data() + limit->size();
        auto r = std::from_chars(limit->data(), end, n);
        if (limit->empty() || r.ec != std::errc{} || r.ptr != end) {
            return tl::unexpected(bad("limit " + *limit + ": a whole number"));
        }
        q.limit = n;
    }
    return q;
}

}  // namespace purser::store
