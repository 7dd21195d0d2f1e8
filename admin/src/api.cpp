#include "purser/admin/api.hpp"

#include <algorithm>
#include <map>
#include <variant>
#include <nlohmann/json.hpp>

#include "dashboard_assets.hpp"

#include "purser/store/errc.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/store/views.hpp"

namespace purser::admin {
namespace {

using json = nlohmann::ordered_json;

std::string dump(const json& j) {
    // Merchant text in ledger rows may be invalid UTF-8: replaced, never a thrown exception.
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

response json_response(unsigned status, const json& body) {
    response r;
    r.status = status;
    r.body = dump(body);
    return r;
}

response error_response(unsigned status, const std::string& code, const std::string& detail) {
    return json_response(status, {{"error", code}, {"detail", detail}});
}

/// A store error as an HTTP answer: the caller's mistakes are 4xx, the store's trouble 503.
response store_error(const error& e) {
    using store::errc;
    const auto code = e.code;
    if (code == errc::agent_not_found || code == errc::invalid_name)
        return error_response(404, "agent_not_found", e.message());
    if (code == errc::no_allowance_limit)
        return error_response(409, "no_allowance_limit",
                               "the agent's allowance is unlimited; set one with `purser agent set "
                               "--allowance` before funding it");
    if (code == errc::overflow || code == errc::invalid_argument)
        return error_response(400, "invalid_argument", e.message());
    return error_response(503, "store_unavailable", e.message());
}

response method_not_allowed(const char* allow) {
    auto r = error_response(405, "method_not_allowed", std::string("use ") + allow);
    r.headers.emplace_back("Allow", allow);
    return r;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            if (c == '\0') return std::nullopt;
            i += 2;
        }
        out += c;
    }
    return out;
}

/// Sums the amounts of open payment rows (reserved, failed, in doubt) per asset and network.
result<std::vector<proxy::in_flight_sample>> in_flight(const store::store& s) {
    std::map<std::pair<std::string, std::string>, protocol::uint256> sums;
    for (auto state : {store::status::reserved, store::status::failed, store::status::in_doubt}) {
        store::ledger_query q;
        q.state = state;
        PURSER_TRY(rows, s.list_ledger(q));
        for (const auto& row : rows) {
            if (row.kind != store::row_kind::payment) continue;
            auto& sum = sums[{row.asset, row.network}];
            auto next = sum.add(row.amount_atomic);
            sum = next ? *next : protocol::uint256::max();
        }
    }
    std::vector<proxy::in_flight_sample> out;
    for (auto& [key, sum] : sums) out.push_back({key.first, key.second, sum});
    return out;
}

/// One of the dashboard's files, with headers that keep a hostile string in the ledger from
/// ever running as script: only this origin's own files may load, nothing inline, no framing.
std::optional<response> dashboard_file(const std::string& path) {
    for (const auto& file : dashboard_assets()) {
        if (file.path != path) continue;
        response r;
        r.content_type = std::string(file.content_type);
        r.body = std::string(file.body);
        r.headers = {
            {"Content-Security-Policy",
             "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
            {"X-Content-Type-Options", "nosniff"},
            {"X-Frame-Options", "DENY"},
            {"Referrer-Policy", "no-referrer"},
            {"Cache-Control", "no-cache"},
        };
        return r;
    }
    return std::nullopt;
}

/// Reads the filters named in `known` from the query into a map; a filter not in `known`, or
/// one given twice, is a 400 naming it.
std::variant<std::map<std::string, std::string>, response> known_filters(
    const std::vector<std::pair<std::string, std::string>>& params,
    std::initializer_list<std::string_view> known, const std::string& what) {
    std::map<std::string, std::string> given;
    for (const auto& [k, v] : params) {
        bool ok = false;
        for (auto name : known) ok = ok || k == name;
        if (!ok) return error_response(400, "bad_query", "unknown " + what + " filter '" + k + "'");
        if (!given.emplace(k, v).second)
            return error_response(400, "bad_query", what + " filter '" + k + "' given twice");
    }
    return given;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (part.empty()) continue;
        const auto eq = part.find('=');
        auto key = percent_decode(part.substr(0, eq));
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view()
                                                                 : part.substr(eq + 1));
        if (!key || !value) return std::nullopt;
        out.emplace_back(std::move(*key), std::move(*value));
    }
    return out;
}

api::api(std::shared_ptr<store::store> ledger, std::shared_ptr<proxy::metrics> stats,
         readiness ready, std::optional<bearer_token> token)
    : ledger_(std::move(ledger)), stats_(std::move(stats)), ready_(std::move(ready)),
      token_(std::move(token)) {}

response api::handle(const request& r) const {
    const std::string_view target = r.target;
    const auto qmark = target.find('?');
    const std::string path(target.substr(0, qmark));
    const std::string_view query =
        qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);

    if (path == "/healthz") {
        if (r.method != "GET") return method_not_allowed("GET");
        response ok;
        ok.content_type = "text/plain; charset=utf-8";
        ok.body = "ok\n";
        return ok;
    }
    if (path == "/readyz") {
        if (r.method != "GET") return method_not_allowed("GET");
        const auto check = [](const std::function<bool()>& f) { return f && f(); };
        const bool store_ok = check(ready_.store_open);
        const bool wallet_ok = check(ready_.wallet_unlocked);
        const bool listener_ok = check(ready_.listener_up);
        nlohmann::json checks = {{"store", store_ok}, {"wallet", wallet_ok}, {"listener", listener_ok}};
        bool all = store_ok && wallet_ok && listener_ok;
        // Without its fleet database the proxy pays only from the leases it holds, then
        // declines: not ready for more work, though it keeps serving what it can.
        if (ready_.fleet_database) {
            const bool fleet_ok = ready_.fleet_database();
            checks["fleet_database"] = fleet_ok;
            all = all && fleet_ok;
        }
        return json_response(all ? 200 : 503, {{"ready", all}, {"checks", std::move(checks)}});
    }

    if (auto file = dashboard_file(path)) {
        if (r.method != "GET") return method_not_allowed("GET");
        return std::move(*file);
    }

    // Everything else: the token first, before the path is even looked at, so a caller without
    // it learns nothing (not even which routes exist) and changes nothing.
    if (!token_ || !token_->admits(r.authorization)) {
        auto denied = error_response(401, "unauthorized",
                                     token_ ? "missing or wrong bearer token"
                                            : "no admin token is configured (PURSER_ADMIN_TOKEN_FILE "
                                              "or PURSER_ADMIN_TOKEN)");
        denied.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"purser-admin\"");
        return denied;
    }

    auto params = parse_query(query);
    if (!params) return error_response(400, "bad_query", "malformed percent escape in the query");
    if (!ledger_) return error_response(503, "store_unavailable", "the store is not open");

    if (path == "/metrics") {
        if (r.method != "GET") return method_not_allowed("GET");
        auto flight = in_flight(*ledger_);
        if (!flight) return store_error(flight.error());
        response out;
        out.content_type = "text/plain; version=0.0.4; charset=utf-8";
        out.body = stats_ ? stats_->render(*flight) : proxy::metrics{}.render(*flight);
        return out;
    }

    if (path == "/ledger") {
        if (r.method != "GET") return method_not_allowed("GET");
        auto filters = known_filters(*params, {"since", "until", "agent", "host", "status", "limit"},
                                     "ledger");
        if (auto* refused = std::get_if<response>(&filters)) return std::move(*refused);
        const auto& given = std::get<std::map<std::string, std::string>>(filters);
        auto q = store::ledger_filters(
            [&](const std::string& name) -> std::optional<std::string> {
                auto it = given.find(name);
                if (it == given.end()) return std::nullopt;
                return it->second;
            },
            ledger_->now_ms());
        if (!q) return error_response(400, "bad_query", q.error().detail);
        auto rows = ledger_->list_ledger(*q);
        if (!rows) return store_error(rows.error());
        json out = json::array();
        for (const auto& row : *rows) out.push_back(store::row_json(row));
        return json_response(200, out);
    }

    if (path == "/spend") {
        if (r.method != "GET") return method_not_allowed("GET");
        auto filters = known_filters(*params, {"by", "since", "until"}, "spend");
        if (auto* refused = std::get_if<response>(&filters)) return std::move(*refused);
        auto& given = std::get<std::map<std::string, std::string>>(filters);
        static const std::pair<const char*, store::spend_group> groups[] = {
            {"agent", store::spend_group::agent},
            {"host", store::spend_group::host},
            {"day", store::spend_group::day},
            {"agent_day", store::spend_group::agent_day},
        };
        const std::string by_text = given.count("by") ? given["by"] : "agent";
        const auto* group = std::find_if(std::begin(groups), std::end(groups),
                                         [&](const auto& g) { return by_text == g.first; });
        if (group == std::end(groups))
            return error_response(400, "bad_query", "by: use agent, host, day or agent_day");
        const std::uint64_t now = ledger_->now_ms();
        auto since = store::parse_time(given.count("since") ? given["since"] : "30d", now);
        if (!since) return error_response(400, "bad_query", "since: " + since.error().detail);
        std::optional<std::uint64_t> until;
        if (given.count("until")) {
            auto t = store::parse_time(given["until"], now);
            if (!t) return error_response(400, "bad_query", "until: " + t.error().detail);
            until = *t;
        }
        auto rows = ledger_->spend(group->second, *since, until);
        if (!rows) return store_error(rows.error());
        const std::string key_name = group->second == store::spend_group::agent_day ? "agent" : by_text;
        json out = json::array();
        for (const auto& row : *rows) out.push_back(store::spend_json(row, key_name));
        return json_response(200, out);
    }

    if (path == "/agents") {
        if (r.method != "GET") return method_not_allowed("GET");
        auto agents = ledger_->list_agents();
        if (!agents) return store_error(agents.error());
        json out = json::array();
        for (const auto& a : *agents) {
            auto u = ledger_->usage(a.name);
            if (!u) return store_error(u.error());
            out.push_back(store::agent_json(a, *u));
        }
        return json_response(200, out);
    }

    constexpr std::string_view prefix = "/agents/";
    if (path.rfind(prefix, 0) == 0) {
        std::string_view rest = std::string_view(path).substr(prefix.size());
        const auto slash = rest.find('/');
        const std::string name(rest.substr(0, slash));
        const std::string action(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
        if (!store::valid_agent_name(name)) {
            return error_response(404, "agent_not_found", "no agent named like that");
        }
        const auto show = [&]() -> response {
            auto a = ledger_->get_agent(name);
            if (!a) return store_error(a.error());
            auto u = ledger_->usage(name);
            if (!u) return store_error(u.error());
            return json_response(200, store::agent_json(*a, *u));
        };
        if (action.empty()) {
            if (r.method != "GET") return method_not_allowed("GET");
            return show();
        }
        if (action == "freeze" || action == "unfreeze") {
            if (r.method != "POST") return method_not_allowed("POST");
            auto a = ledger_->set_frozen(name, action == "freeze");
            if (!a) return store_error(a.error());
            return show();
        }
        if (action == "fund") {
            if (r.method != "POST") return method_not_allowed("POST");
            auto body = json::parse(r.body, nullptr, false);
            if (body.is_discarded() || !body.is_object() || body.size() != 1 ||
                !body.contains("amount")) {
                return error_response(400, "bad_body", "expected {\"amount\": \"1.50\"} (USD)");
            }
            if (!body["amount"].is_string()) {
                // Money is never a JSON number: a double cannot hold every amount exactly.
                return error_response(400, "bad_body",
                                      "amount must be a string of dollars, e.g. \"1.50\"");
            }
            const std::string text = body["amount"].get<std::string>();
            auto amount = store::parse_usd(text);
            if (!amount || *amount == 0) {
                return error_response(400, "bad_body",
                                      "amount '" + text +
                                          "': expected a positive dollar amount like 5 or 0.10 "
                                          "(at most 6 decimals)");
            }
            auto a = ledger_->fund(name, *amount);
            if (!a) return store_error(a.error());
            return show();
        }
        return error_response(404, "not_found", "no such route");
    }
    return error_response(404, "not_found", "no such route");
}

}  // namespace purser::admin
