// Leases: slices of a budget's headroom held by one proxy. Granting one is a single SQL
// transaction that locks the budget's window row and never lets active leases plus what returned
// leases spent pass the cap, however many proxies ask at once. A lease stays counted whole until
// its proxy returns it with what it spent (signed is spent until proven otherwise), so a proxy
// that vanished keeps its lease counted until an operator reconciles it.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "purser/fleet/budgets.hpp"

namespace purser::fleet {

struct lease {
    std::uint64_t id = 0;
    std::string budget;
    std::string window;
    std::string proxy_id;
    std::uint64_t granted_micros = 0;
};

/// Grants `proxy_id` up to `want_micros` of the budget's headroom in the window of `now_s`: the
/// whole of it when it fits, else what is left when that is at least `min_micros`, else nothing
/// (nullopt). Errors: std::errc::no_such_file_or_directory (no such budget), exec's.
[[nodiscard]] result<std::optional<lease>> acquire_lease(connection& c, const std::string& budget,
                                                         const std::string& proxy_id,
                                                         std::uint64_t want_micros,
                                                         std::uint64_t min_micros, std::uint64_t now_s);

/// Returns lease `id` of `proxy_id` having spent `spent_micros` of it (at most what was granted):
/// the rest goes back to the budget's window. Returning a lease twice changes nothing the second
/// time. Errors: protocol invalid_value (spent above granted), std::errc::no_such_file_or_directory
/// (no such lease of this proxy), exec's.
[[nodiscard]] result<void> return_lease(connection& c, std::uint64_t id, const std::string& proxy_id,
                                        std::uint64_t spent_micros);

/// The ids of `proxy_id`'s leases the database counts active. A lease a proxy holds that is not
/// among them was returned by an operator (reconcile_proxy_leases). Errors: exec's.
[[nodiscard]] result<std::set<std::uint64_t>> active_lease_ids(connection& c, const std::string& proxy_id);

}  // namespace purser::fleet
