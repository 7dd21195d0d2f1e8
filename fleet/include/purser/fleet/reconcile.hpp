// An operator's reconcile of a proxy that is gone for good (its node and store lost): its leases
// would otherwise stay counted whole for ever. What its shipped ledger rows show it may have spent
// stays counted; the rest of each lease goes back to its budget.
#pragma once

#include <string>
#include <vector>

#include "purser/fleet/leases.hpp"

namespace purser::fleet {

/// One active lease of the proxy and what the reconcile counts it as having spent.
struct reconciled_lease {
    lease held;
    std::uint64_t spent_micros = 0;
};

/// Returns every active lease of `proxy_id`, in one transaction. Per budget window, what the
/// proxy's fleet-ledger rows of that window, from the first of those leases on, count against
/// their agents now (paid, reserved, failed and in-doubt rows: signed is spent until proven
/// otherwise) is spread over its leases oldest first, each at most what it was granted. Rows
/// still in the lost proxy's outbox never arrived, so this can count less than it spent: that is
/// the operator's call, which is why nothing but this command does it. `dry_run`: computes the
/// same, changes nothing. Errors: exec's.
[[nodiscard]] result<std::vector<reconciled_lease>> reconcile_proxy_leases(connection& c, const std::string& proxy_id,
                                                                           bool dry_run);

}  // namespace purser::fleet
