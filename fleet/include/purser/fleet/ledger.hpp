// The fleet ledger: every proxy's ledger rows in one PostgreSQL table, so `purser ledger --fleet`
// and `purser spend --fleet` answer for the whole organisation. Proxies ship rows from their LMDB
// outbox at least once; the table stores each (proxy id, row id) once and keeps its newest state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "purser/fleet/pg.hpp"

namespace purser::fleet {

/// One ledger row as the fleet database keeps it. A plain copy of the store's row (the proxy
/// converts), so this library does not depend on the store. Amounts in micro-USD.
struct ledger_entry {
    std::uint64_t row_id = 0;          ///< The row's id in its proxy's store.
    std::uint64_t version = 0;         ///< Higher = newer state of this row (the outbox version).
    std::uint64_t at_ms = 0;           ///< Decision time, unix ms.
    std::uint64_t updated_ms = 0;      ///< Last change, unix ms.
    std::string agent;
    std::string host;
    std::string method;
    std::string url;                   ///< Without its query string.
    std::string scheme;
    std::string network;
    std::string asset;
    std::string amount_atomic;         ///< Decimal, in the asset's atomic units ("" when none).
    std::uint64_t amount_micros = 0;
    std::uint64_t charged_micros = 0;  ///< What a paid row was charged.
    std::uint64_t counted_micros = 0;  ///< What the row counts against its agent now.
    std::string status;                ///< "paid", "in_doubt", ... (store::to_string).
    std::string reason;                ///< The decline reason code, or "".
    std::string detail;
    std::string tx_hash;
    std::string kind = "payment";      ///< "payment" or "deposit".
    std::uint32_t repeats = 1;         ///< Identical declines this row stands for.
};

/// Upserts `rows` of `proxy_id` in one transaction: a row not yet there is inserted, a row there
/// with a lower version is replaced, a row there with the same or a higher version is left alone
/// (a late or repeated shipment never moves a row back). On success every row is durable.
/// Precondition: each row_id at most once in `rows`. Errors: protocol invalid_value (an empty
/// proxy id or a value a bigint cannot hold), exec's.
[[nodiscard]] result<void> ship_rows(connection& c, const std::string& proxy_id,
                                     const std::vector<ledger_entry>& rows);

/// A row of the fleet ledger with the proxy it came from.
struct fleet_row {
    std::string proxy_id;
    ledger_entry entry;
};

/// Filters of `purser ledger --fleet`; every field optional.
struct fleet_query {
    std::optional<std::uint64_t> since_ms;  ///< at >= since
    std::optional<std::uint64_t> until_ms;  ///< at < until
    std::optional<std::string> agent;
    std::optional<std::string> host;
    std::optional<std::string> status;
    std::optional<std::string> proxy_id;
    std::size_t limit = 0;                  ///< 0 = all; else the newest `limit` rows.
};

/// Matching rows, oldest first (by decision time, then proxy and row id). Errors: exec's.
[[nodiscard]] result<std::vector<fleet_row>> list_fleet_ledger(connection& c, const fleet_query& q);

enum class fleet_group { agent, host, day, proxy };

/// One line of `purser spend --fleet`, as store::spend_row is for one proxy.
struct fleet_spend_row {
    std::string key;
    std::uint64_t approved = 0;       ///< Rows not declined.
    std::uint64_t paid = 0;
    std::uint64_t declined = 0;       ///< Declines, folded repeats included.
    std::uint64_t spent_micros = 0;   ///< What the rows count (paid and still in flight).
    std::uint64_t paid_micros = 0;    ///< Charged on paid rows.
};

/// Totals over rows decided in [since_ms, until_ms), grouped, sorted by key. Errors: exec's.
[[nodiscard]] result<std::vector<fleet_spend_row>> fleet_spend(connection& c, fleet_group by,
                                                               std::optional<std::uint64_t> since_ms,
                                                               std::optional<std::uint64_t> until_ms);

}  // namespace purser::fleet
