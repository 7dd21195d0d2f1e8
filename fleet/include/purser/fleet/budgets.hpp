// Fleet budgets in PostgreSQL: a cap on what many proxies together may pay in a day, a month or
// ever, shared by handing each proxy leases of the headroom (leases.hpp). Amounts are micro-USD,
// as the agents' own caps in the local store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "purser/fleet/pg.hpp"

namespace purser::fleet {

/// The newest schema version this Purser writes; `purser fleet migrate` brings a database here.
inline constexpr int schema_version = 2;

/// Applies every migration the database lacks, each in its own transaction under an advisory
/// lock (two proxies starting at once migrate once). Returns the version reached.
/// Errors: as exec; protocol invalid_value when the database is newer than this Purser.
[[nodiscard]] result<int> migrate(connection& c);
/// The database's schema version (0 when never migrated).
[[nodiscard]] result<int> current_schema(connection& c);

/// The largest amount in micro-USD a bigint column holds (2^63-1).
inline constexpr std::uint64_t max_micros = (std::uint64_t{1} << 63) - 1;

enum class period { day, month, lifetime };
[[nodiscard]] std::string_view to_string(period p) noexcept;
/// "day" | "month" | "lifetime". Errors: protocol invalid_value.
[[nodiscard]] result<period> parse_period(std::string_view text);
/// The window a time falls in, in UTC: "2026-12-02" for a day, "2026-12" for a month,
/// "lifetime" for ever.
[[nodiscard]] std::string window_key(period p, std::uint64_t unix_s);

/// A budget and, for its current window, where its cap went.
struct budget {
    std::string name;
    period per = period::day;
    std::uint64_t cap_micros = 0;
    std::string window;                  ///< The current window's key.
    std::uint64_t committed_micros = 0;  ///< Counted against the cap: active leases whole, plus
                                         ///< what returned leases spent.
    std::uint64_t leased_micros = 0;     ///< Granted to leases still active (proxies may spend it).
    std::uint64_t spent_micros = 0;      ///< Reported spent by returned leases.
    std::uint64_t active_leases = 0;
};

/// Names: 1..64 of [a-z0-9_.-], starting with a letter or digit.
/// Errors: protocol invalid_value (a bad name or a cap above 2^63-1 micro-USD), std::errc::file_exists
/// (add: the name is taken), std::errc::no_such_file_or_directory (set: no such budget), exec's.
[[nodiscard]] result<void> add_budget(connection& c, const std::string& name, period per,
                                      std::uint64_t cap_micros);
[[nodiscard]] result<void> set_budget_cap(connection& c, const std::string& name, std::uint64_t cap_micros);
[[nodiscard]] result<std::optional<budget>> get_budget(connection& c, const std::string& name,
                                                       std::uint64_t now_s);
[[nodiscard]] result<std::vector<budget>> list_budgets(connection& c, std::uint64_t now_s);

}  // namespace purser::fleet
