// Leases of fleet budgets as this store holds them (issue 14). The fleet database (PostgreSQL)
// grants a proxy a lease, a slice of a budget's headroom; the proxy installs it here, and every
// reservation of an agent that draws on that budget spends it inside the reservation's own write
// transaction, so a payment never waits on the network. A reservation consumes lease; a release
// (never sent) and an expiry proven on chain give it back; paid, failed and in doubt stay
// consumed (signed is spent until proven otherwise).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "purser/store/money.hpp"

namespace purser::store {

/// A lease the fleet database granted, to install with store::add_budget_lease.
struct budget_lease_grant {
    std::string budget;               ///< The fleet budget's name (1..64 bytes).
    std::uint64_t lease_id = 0;       ///< The fleet database's id of the lease (unique, > 0).
    std::string window;               ///< The budget window it was granted in ("2026-12-02").
    usd_micros granted = 0;           ///< How much of the budget it holds.
    std::uint64_t valid_until_ms = 0; ///< The window's end: no draws from then on; 0 = never.
};

/// Everything this store holds of one fleet budget: the leases of one window, merged.
struct budget_account {
    /// One lease of the account; `spent` is its share of what was consumed, fixed when the
    /// account closes (the leases are filled in order), for the fleet's return_lease.
    struct lease_part {
        std::uint64_t lease_id = 0;
        usd_micros granted = 0;
        usd_micros spent = 0;
    };
    std::string budget;
    std::string window;
    std::uint64_t serial = 0;          ///< The first lease's id: tells an account from a later
                                       ///< one of the same budget (draws name it).
    std::uint64_t valid_until_ms = 0;
    usd_micros granted = 0;            ///< Sum of the leases.
    usd_micros consumed = 0;           ///< What reservations hold of it now.
    bool closing = false;              ///< No more draws; its leases await their return.
    std::vector<lease_part> leases;

    /// What a reservation may still draw at `now_ms` (0 when closing or past valid_until).
    [[nodiscard]] usd_micros remaining(std::uint64_t now_ms) const {
        if (closing || (valid_until_ms != 0 && now_ms >= valid_until_ms)) return 0;
        return granted > consumed ? granted - consumed : 0;
    }
};

}  // namespace purser::store
