// Returning a lease inside a transaction the caller holds: shared by a proxy's return
// (return_lease) and an operator's reconcile of a vanished proxy (reconcile_proxy_leases).
#pragma once

#include "purser/fleet/pg.hpp"

namespace purser::fleet {

/// Marks lease `id` of `proxy_id` returned having spent `spent_micros`, and gives the rest back
/// to its budget window. A lease already returned is left as it is. Errors as return_lease's.
[[nodiscard]] result<void> settle_lease(connection& c, std::uint64_t id, const std::string& proxy_id,
                                        std::uint64_t spent_micros);

}  // namespace purser::fleet
