#include "purser/fleet/budgets.hpp"

#include <ctime>

#include "purser/protocol/errc.hpp"

namespace purser::fleet {
namespace {

result<void> check_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 64;
    for (std::size_t i = 0; ok && i < name.size(); ++i) {
        const char ch = name[i];
        const bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        ok = alnum || (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
    }
    if (!ok) return fail(protocol::errc::invalid_value, "budget name '" + name.substr(0, 80) +
                                                           "': 1..64 of a-z 0-9 _ . -, starting with a letter or digit");
    return {};
}

result<void> check_cap(std::uint64_t cap) {
    if (cap > max_micros) return fail(protocol::errc::invalid_value, "budget cap above 2^63-1 micro-USD");
    return {};
}

// The budget's columns with its current window's accounting, for get and list.
constexpr const char* budget_select = R"sql(
SELECT b.name, b.period, b.cap_micros,
       COALESCE(w.committed_micros, 0) AS committed,
       COALESCE((SELECT sum(granted_micros) FROM leases l
                 WHERE l.budget = b.name AND l.window_key = k.key AND l.state = 'active'), 0) AS leased,
       COALESCE((SELECT sum(spent_micros) FROM leases l
                 WHERE l.budget = b.name AND l.window_key = k.key AND l.state = 'returned'), 0) AS spent,
       (SELECT count(*) FROM leases l
         WHERE l.budget = b.name AND l.window_key = k.key AND l.state = 'active') AS active
FROM budgets b
-- The budget's current window: $1 holds the day, month and lifetime keys, in that order.
CROSS JOIN LATERAL (SELECT ($1::text[])[CASE b.period WHEN 'day' THEN 1 WHEN 'month' THEN 2 ELSE 3 END] AS key) k
LEFT JOIN budget_windows w ON w.budget = b.name AND w.window_key = k.key
)sql";

// The three window keys of `now_s` as a PostgreSQL text array literal: {day,month,lifetime}.
std::string windows_of(std::uint64_t now_s) {
    return "{" + window_key(period::day, now_s) + "," + window_key(period::month, now_s) + ",lifetime}";
}

result<std::vector<budget>> read_budgets(const rows& r, std::uint64_t now_s) {
    std::vector<budget> out;
    for (std::size_t i = 0; i < r.size(); ++i) {
        budget b;
        b.name = r.text(i, "name");
        PURSER_TRY(per, parse_period(r.text(i, "period")));
        b.per = per;
        b.cap_micros = r.u64(i, "cap_micros");
        b.window = window_key(per, now_s);
        b.committed_micros = r.u64(i, "committed");
        b.leased_micros = r.u64(i, "leased");
        b.spent_micros = r.u64(i, "spent");
        b.active_leases = r.u64(i, "active");
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace

std::string_view to_string(period p) noexcept {
    switch (p) {
        case period::day: return "day";
        case period::month: return "month";
        case period::lifetime: return "lifetime";
    }
    return "day";
}

result<period> parse_period(std::string_view text) {
    if (text == "day") return period::day;
    if (text == "month") return period::month;
    if (text == "lifetime") return period::lifetime;
    return fail(protocol::errc::invalid_value, "period '" + std::string(text.substr(0, 40)) + "': day, month or lifetime");
}

std::string window_key(period p, std::uint64_t unix_s) {
    if (p == period::lifetime) return "lifetime";
    const std::time_t t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    if (p == period::day) std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    else std::strftime(buf, sizeof buf, "%Y-%m", &tm);
    return buf;
}

result<void> add_budget(connection& c, const std::string& name, period per, std::uint64_t cap_micros) {
    if (auto ok = check_name(name); !ok) return ok;
    if (auto ok = check_cap(cap_micros); !ok) return ok;
    PURSER_TRY(added, c.exec("INSERT INTO budgets (name, period, cap_micros) VALUES ($1, $2, $3) "
                             "ON CONFLICT (name) DO NOTHING RETURNING name",
                             {name, std::string(to_string(per)), std::to_string(cap_micros)}));
    if (added.size() == 0) return fail(std::make_error_code(std::errc::file_exists), "budget " + name + " exists");
    return {};
}

result<void> set_budget_cap(connection& c, const std::string& name, std::uint64_t cap_micros) {
    if (auto ok = check_name(name); !ok) return ok;
    if (auto ok = check_cap(cap_micros); !ok) return ok;
    // Lowering a cap below what is committed grants nothing more until leases come back; it
    // never takes back a lease already granted (its proxy may have signed against it).
    PURSER_TRY(set, c.exec("UPDATE budgets SET cap_micros = $2, updated_at = now() WHERE name = $1 RETURNING name",
                           {name, std::to_string(cap_micros)}));
    if (set.size() == 0) return fail(std::make_error_code(std::errc::no_such_file_or_directory), "no budget " + name);
    return {};
}

result<std::optional<budget>> get_budget(connection& c, const std::string& name, std::uint64_t now_s) {
    PURSER_TRY(r, c.exec(std::string(budget_select) + " WHERE b.name = $2", {windows_of(now_s), name}));
    PURSER_TRY(list, read_budgets(r, now_s));
    if (list.empty()) return std::optional<budget>{};
    return std::optional<budget>{std::move(list.front())};
}

result<std::vector<budget>> list_budgets(connection& c, std::uint64_t now_s) {
    PURSER_TRY(r, c.exec(std::string(budget_select) + " ORDER BY b.name", {windows_of(now_s)}));
    return read_budgets(r, now_s);
}

}  // namespace purser::fleet
