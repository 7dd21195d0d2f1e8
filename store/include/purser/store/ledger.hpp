// The ledger: one row per payment decision, its lifecycle, and the queries over it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "purser/protocol/uint256.hpp"
#include "purser/store/channel.hpp"
#include "purser/store/money.hpp"
#include "purser/store/reason.hpp"

namespace purser::store {

/// Where a decision stands. An approved decision starts `reserved`; the rest follow from it:
///   reserved -> paid | failed | in_doubt | expired | released
///   failed   -> paid | in_doubt | expired      in_doubt -> paid | failed | expired
///   expired  -> paid (late settlement evidence)
/// `declined` is written once and never changes. A row becomes `expired` only with proof from
/// the chain that its authorization can never move money (store::expire_unsettled); time alone
/// proves nothing, since a merchant can settle and then answer 500 (DESIGN invariant 2).
enum class status : std::uint8_t {
    reserved = 1,  ///< Approved and counted; the signature may have left the process.
    paid,          ///< Settled: counts its charged amount.
    failed,        ///< The merchant refused; still counted until the authorization expires.
    in_doubt,      ///< Outcome unknown (timeout, crash, success:false); still counted.
    expired,       ///< The authorization expired unsettled; the money is back.
    declined,      ///< Policy said no; never counted.
    released,      ///< Approved but never signed or never sent; the money is back.
};

[[nodiscard]] std::string_view to_string(status s) noexcept;
[[nodiscard]] std::optional<status> status_from_string(std::string_view text) noexcept;
/// True for reserved, failed and in_doubt: rows whose amount is in flight.
[[nodiscard]] bool is_open(status s) noexcept;

/// What the proxy knows about one paid-request attempt when it asks for a decision.
struct reserve_request {
    std::string agent;           ///< Agent name as authenticated (or as claimed, for unknown).
    std::string method;          ///< "GET"
    std::string url;             ///< Full URL; query strings are kept as sent (no secrets here).
    std::string host;            ///< Lowercase host without port; at most 255 bytes.
    int x402_version = 2;
    std::string scheme;          ///< "exact", "batch-settlement", ...
    std::string network;         ///< As the offer names it.
    std::string asset;           ///< Token address as the offer names it.
    std::string asset_symbol;    ///< "USDC" when known; matched against allow_assets too.
    unsigned asset_decimals = 6;
    bool usd_pegged = false;     ///< false (unknown or unpegged) declines asset_not_allowed.
    protocol::uint256 amount_atomic;  ///< The offer actually signed (invariant 4).
    std::string pay_to;
    std::string nonce;           ///< EIP-3009 nonce, or the voucher/channel id for IOUs.
    std::uint64_t expires_at = 0;  ///< validBefore, unix seconds; 0 = never expires by itself.
    std::string payer;           ///< The signing address (the authorizer the chain is asked about).
    /// Other names of `network` (its CAIP-2 id and v1 name): an agent allowed "eip155:84532" may
    /// pay a v1 offer on "base-sepolia", the same chain. Matched against allow-lists only.
    std::vector<std::string> network_aliases;
    /// Fleet budgets the payment draws on (the proxy's fleet.budgets for the agent): each needs
    /// local lease headroom for the amount, else the decline is budget_unavailable.
    std::vector<std::string> budgets;
    /// Set for a batch-settlement voucher: amount_atomic is then ignored, and the row counts the
    /// increase of the channel's highest signed amount (see channel.hpp).
    std::optional<voucher_request> voucher;
};

/// Longest text a ledger row keeps of one merchant-supplied field (network, asset, detail, ...);
/// longer text is cut with a marker, never a reason to drop the row (DESIGN invariant 7). The
/// access log keeps the whole cause; the row keeps what a person reads, so that a row, indexes
/// included, stays under 1 KiB whatever the request's URL (tests/store/row_size_test.cpp).
inline constexpr std::size_t max_row_field_bytes = 256;
/// Longest URL a ledger row keeps (the query string is dropped before it gets here).
inline constexpr std::size_t max_row_url_bytes = 256;

/// The store's answer. A decline is a value, not an error, and has its own ledger row.
struct decision {
    bool approved = false;
    std::optional<reason> why;        ///< Set exactly when declined.
    std::uint64_t reservation_id = 0; ///< Approved: the id to commit/fail/release. 0 otherwise.
    std::uint64_t ledger_id = 0;      ///< The row written (== reservation_id when approved).
    usd_micros amount = 0;            ///< The payment in micro-USD (rounded up); 0 if unknown.
    std::optional<usd_micros> allowance_remaining;  ///< After this decision; nullopt = unlimited.
    std::uint64_t deposit_id = 0;     ///< Approved voucher with a deposit: the deposit's row.
    protocol::uint256 counted_atomic; ///< Approved: what the agent's row counts (a voucher's
                                      ///< increase of the channel's signed high).
    /// Declined rate_limited: milliseconds until the rate window admits one more approval.
    std::uint64_t retry_after_ms = 0;
};

/// Settlement facts for commit().
struct settlement {
    std::string tx_hash;                            ///< Or voucher id for IOU payments.
    std::optional<protocol::uint256> charged_atomic;  ///< Defaults to the reserved amount.
    std::uint16_t merchant_status = 0;              ///< HTTP status of the paid retry.
    std::uint32_t latency_ms = 0;                   ///< Retry round trip.
};

/// What a row records: a payment an agent made, or wallet money moved into an IOU channel's
/// escrow on an agent's behalf (never counted against the agent: the vouchers drawn on it are).
enum class row_kind : std::uint8_t { payment = 0, deposit = 1 };

/// One ledger row: every field the issue lists, plus the counted amounts.
struct ledger_row {
    std::uint64_t id = 0;
    std::uint64_t at_ms = 0;         ///< Decision time, unix ms. Day/month buckets use this.
    std::uint64_t updated_ms = 0;    ///< Last status change.
    std::string agent;
    std::string method;
    std::string url;
    std::string host;
    int x402_version = 0;
    std::string scheme;
    std::string network;
    std::string asset;
    unsigned asset_decimals = 0;
    protocol::uint256 amount_atomic;
    usd_micros amount_usd = 0;       ///< amount_atomic in micro-USD (rounded up); 0 if unpegged.
    std::string pay_to;
    std::string nonce;
    std::uint64_t expires_at = 0;    ///< Unix seconds; 0 = none.
    store::status state = status::declined;
    std::optional<reason> why;       ///< Decline reason.
    std::string detail;              ///< Free text: failure reason, in-doubt cause.
    std::string tx_hash;
    std::optional<protocol::uint256> charged_atomic;
    usd_micros charged_usd = 0;
    std::uint16_t merchant_status = 0;
    std::uint32_t latency_ms = 0;
    std::string payer;               ///< Signing address; empty for declines and old rows.
    /// Identical declines this row stands for: the same agent, host and reason within
    /// open_options::decline_fold_ms of the row's first one fold into it (updated_ms is the
    /// last), so an agent retrying a refused call costs the store one row a minute, not one a
    /// request. 1 for every other row.
    std::uint32_t repeats = 1;
    row_kind kind = row_kind::payment;

    /// What this row contributes to the agent's counters: amount_usd while open, charged_usd when
    /// paid, 0 otherwise. Counters always equal the sum of this over the ledger.
    [[nodiscard]] usd_micros counted_usd() const noexcept;
};

/// Filters for list_ledger; every field optional. Rows come back in id order.
struct ledger_query {
    std::optional<std::uint64_t> since_ms;  ///< at_ms >= since_ms
    std::optional<std::uint64_t> until_ms;  ///< at_ms < until_ms
    std::optional<std::string> agent;
    std::optional<std::string> host;
    std::optional<status> state;
    std::size_t limit = 0;                  ///< 0 = no limit; otherwise the newest `limit` rows,
                                            ///< read backwards from the index's end.
};

/// agent_day: one group per agent and UTC day (the dashboard's chart), keyed by agent with
/// spend_row::day set.
enum class spend_group { agent, host, day, agent_day };

/// One line of `purser spend`.
struct spend_row {
    std::string key;                 ///< Agent name, host, or "YYYY-MM-DD".
    std::uint64_t approved = 0;      ///< Rows not declined.
    std::uint64_t paid = 0;          ///< Rows paid.
    std::uint64_t declined = 0;
    usd_micros spent_usd = 0;        ///< Sum of counted_usd (paid + still in flight).
    usd_micros paid_usd = 0;         ///< Sum of charged_usd over paid rows.
    std::string day;                 ///< "YYYY-MM-DD" with spend_group::agent_day, else empty.
};

/// One ledger row waiting in the outbox to be shipped to the fleet database (store::outbox_batch).
struct outbox_entry {
    std::uint64_t row_id = 0;
    /// The outbox sequence number of the row's latest change: strictly higher for every later
    /// change of any row of this store, so the fleet database keeps the highest it has seen and
    /// an old copy arriving late never moves a row back.
    std::uint64_t version = 0;
    /// The row as it is now; nullopt when it has been pruned since (nothing is left to ship).
    std::optional<ledger_row> row;
};

}  // namespace purser::store
