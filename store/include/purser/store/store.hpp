// The store: one LMDB environment holding agents, counters and the ledger. It is the only place
// that answers "may this agent spend this now?", always inside one write transaction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "purser/protocol/result.hpp"
#include "purser/store/agent.hpp"
#include "purser/store/budget_lease.hpp"
#include "purser/store/errc.hpp"
#include "purser/store/ledger.hpp"
#include "purser/store/reason.hpp"

namespace purser::store {

/// Unix time in milliseconds. Tests inject a fixed or stepping clock.
using clock_fn = std::function<std::uint64_t()>;
/// The system clock (std::chrono::system_clock) in unix ms.
[[nodiscard]] std::uint64_t system_clock_ms();

/// Whether every change of a ledger row is also queued in the outbox for the fleet database
/// (outbox_batch / outbox_ack). The choice is kept in the store, so a CLI command (a reconcile
/// that proves a row paid) queues its changes whenever the proxy ships.
enum class outbox_mode : std::uint8_t {
    as_stored,  ///< Do what the store was last told (a store never told keeps no outbox).
    on,         ///< Queue from now on (the proxy with fleet shipping configured).
    off,        ///< Stop queuing (entries already queued stay until acknowledged).
};

struct open_options {
    /// The LMDB map size to start with (a store already bigger keeps its size). The map doubles
    /// by itself, up to max_size_bytes, before a write when it is 80% full.
    std::size_t map_size_bytes = std::size_t{64} << 20;
    /// The most the store may ever hold; MDB_MAP_FULL (errc::map_full) past it. 1 GiB holds
    /// millions of ledger rows. A value below map_size_bytes counts as map_size_bytes.
    std::size_t max_size_bytes = std::size_t{1} << 30;
    clock_fn clock = system_clock_ms;
    /// Mark reservations left `reserved` by dead processes as in_doubt while opening.
    bool recover_on_open = true;
    /// How often (at most) a write transaction first clears reader slots left by dead processes
    /// (mdb_reader_check), in seconds; 0 = before every write. A reader killed mid-read pins
    /// every page freed after its snapshot, so until its slot is cleared the file grows by every
    /// page a write touches. open() always checks once.
    std::uint32_t reader_check_interval_s = 10;
    /// Declines of the same agent, host and reason within this long of the first become one
    /// row with a count (ledger_row::repeats); 0 records every decline as its own row.
    std::uint64_t decline_fold_ms = 60'000;
    /// Group commit: reserve, commit, fail, mark_in_doubt, release and expire_unsettled of
    /// concurrent callers share one write transaction and one fsync, each in a nested
    /// transaction of its own (one's error undoes only its own changes), in one serial order (caps
    /// stay exact). Each call still returns only once the transaction holding its change is
    /// durable. false: one write transaction per call (the benchmark's baseline).
    bool group_commit = true;
    /// Group commit's linger (group_commit.hpp, linger_policy): when at least commit_siblings
    /// payments are in flight (rows `reserved` in the store), a batch waits up to this long, in
    /// microseconds, for their operations to join it, so that under load one flush serves more
    /// of them. 0 (the default here; the proxy sets it) never waits. Only for a process with
    /// concurrent payments: a lone writer would wait for nobody.
    std::uint32_t commit_delay_us = 0;
    std::uint32_t commit_siblings = 5;
    /// The fleet outbox. Off unless a proxy with fleet shipping turned it on, so a single-machine
    /// store does not grow by an outbox nobody drains.
    outbox_mode outbox = outbox_mode::as_stored;
};

/// What store::prune() did.
struct prune_report {
    std::uint64_t rows = 0;        ///< Rows deleted.
    std::uint64_t paid = 0;        ///< ... of which paid (only with an archive).
    std::uint64_t kept_paid = 0;   ///< Paid rows in range kept for want of an archive.
    std::uint64_t kept_open = 0;   ///< Rows in range that may still move money, kept.
    std::uint64_t kept_unshipped = 0;  ///< Rows in range still waiting in the fleet outbox, kept.
};

/// How full the store is, and how much work it has done (store::stats()).
struct store_stats {
    std::uint64_t used_bytes = 0;   ///< Pages in use or on LMDB's free list (the high-water mark).
    std::uint64_t free_bytes = 0;   ///< Of used_bytes, pages on the free list: reused before the
                                    ///< file grows (what pruning gives back).
    std::uint64_t map_bytes = 0;    ///< The current LMDB map size.
    std::uint64_t max_bytes = 0;    ///< The most the store may hold; used_bytes / max_bytes is
                                    ///< the fill ratio to warn about.
    std::uint64_t stale_readers_cleared = 0;  ///< Dead readers' slots freed since open.
    std::uint64_t rows_visited = 0; ///< Ledger rows this process read since open: the cost of
                                    ///< queries and decisions, which tests bound.
    std::uint64_t rate_entries_visited = 0;  ///< Rate-index entries rate checks read since open.
    std::uint64_t write_batches = 0;     ///< Group commits (durable commits) since open.
    std::uint64_t batched_operations = 0;///< Operations they carried: the batching achieved.
    std::uint64_t lingered_batches = 0;  ///< Of write_batches, those that waited for payments
                                         ///< in flight (open_options::commit_delay_us).
};

/// Thread-safe: every method runs in its own LMDB transaction (MDB_NOTLS; under group commit the
/// money operations in a nested one of a batch), so one `store` may be shared by many threads. Several processes may open the same directory at once (the proxy and
/// CLI commands); each decision reads the agent inside its write transaction, so a change made
/// by another process applies to the next decision. Open a directory at most once per process,
/// and never use a store inherited across fork().
class store {
public:
    /// Opens (creating if needed) the environment in `dir` (PURSER_HOME/store), mode 0700/0600.
    /// Errors: io_failed, lmdb_failed, schema_too_new (nothing is changed), corrupt_record.
    [[nodiscard]] static result<std::unique_ptr<store>> open(const std::filesystem::path& dir,
                                                             open_options options = {});
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    // ---- agents ------------------------------------------------------------------------------
    /// Creates an agent with a fresh random token (32 bytes, hex) that is returned once and
    /// stored only as its SHA-256. Errors: invalid_name, invalid_pattern, agent_exists, lmdb.
    [[nodiscard]] result<agent_credentials> add_agent(std::string_view name, const policy& limits,
                                                      std::optional<usd_micros> allowance = {});
    /// Replaces the policy. Errors: agent_not_found, invalid_pattern, lmdb.
    [[nodiscard]] result<agent> set_policy(std::string_view name, const policy& limits);
    /// Sets the allowance left (nullopt = unlimited). Errors: agent_not_found, lmdb.
    [[nodiscard]] result<agent> set_allowance(std::string_view name,
                                              std::optional<usd_micros> allowance);
    /// Adds to the allowance. Errors: agent_not_found, no_allowance_limit, overflow, lmdb.
    [[nodiscard]] result<agent> fund(std::string_view name, usd_micros amount);
    /// Errors: agent_not_found, lmdb.
    [[nodiscard]] result<agent> set_frozen(std::string_view name, bool frozen);
    /// New token; the old one stops working at once. Errors: agent_not_found, lmdb.
    [[nodiscard]] result<agent_credentials> rotate_token(std::string_view name);
    /// Deletes the agent, its credential, counters and rate entries in one write transaction; its
    /// ledger rows stay (they name the agent). Refused while any of its payments may still move
    /// money (reserved, failed or in doubt, not yet proven), since settling them needs the agent.
    /// A later add_agent of the same name starts with fresh counters. Errors: agent_not_found,
    /// payments_unsettled, lmdb.
    [[nodiscard]] result<agent> remove_agent(std::string_view name);
    /// Errors: agent_not_found, corrupt_record, lmdb.
    [[nodiscard]] result<agent> get_agent(std::string_view name) const;
    /// All agents, by name.
    [[nodiscard]] result<std::vector<agent>> list_agents() const;
    /// Counters at the store clock's now. Errors: agent_not_found, lmdb.
    [[nodiscard]] result<agent_usage> usage(std::string_view name) const;
    /// Checks a proxy credential in constant time over the hash. Frozen agents authenticate
    /// (their payments are declined agent_frozen, so the decline is visible and logged).
    /// Errors: agent_not_found, bad_credentials, lmdb.
    [[nodiscard]] result<agent> authenticate(std::string_view name, std::string_view token) const;

    // ---- decisions ---------------------------------------------------------------------------
    /// The payment decision, in ONE write transaction: read the agent and counters, check (in
    /// order) agent known, frozen, host, network, asset (USD peg and allow-list), per-request,
    /// daily, monthly, lifetime, allowance, in-flight, rate; then write the ledger row (reserved
    /// or declined), the counters and the allowance, and commit. Nothing is released here: an
    /// open row is given back only on proof (expire_unsettled) or when never sent (release).
    /// Merchant-supplied text longer than max_row_field_bytes (and a URL longer than
    /// max_row_url_bytes) is cut with a marker; it never drops the row.
    /// Errors (nothing written): invalid_argument (agent name or host > 255 bytes, decimals > 77),
    /// map_full, lmdb_failed.
    [[nodiscard]] result<decision> reserve(const reserve_request& request);

    /// A decision made before reserve (no_supported_offer, body_too_large_to_replay,
    /// wallet_locked, price_changed, iou_insufficient): one `declined` ledger row. Amount fields
    /// may be empty; long text is cut as in reserve(). Returns the ledger id.
    /// Errors: invalid_argument, map_full, lmdb_failed.
    [[nodiscard]] result<std::uint64_t> record_decline(const reserve_request& request, reason why,
                                                       std::string_view detail = {});

    /// Settled: status paid, counters move from the reserved amount to the charged amount.
    /// Allowed from reserved, failed, in_doubt and expired (late evidence). `evidence` becomes the
    /// row's detail: how settlement became known when it was not the merchant's answer (e.g.
    /// the chain's authorizationState), or what the merchant's receipt got wrong.
    /// With `left`, the agent's usage as this commit leaves it (what the agent has left), read in
    /// the commit's own transaction (nullopt if it could not be read); meaningful only when the
    /// commit succeeds.
    /// Errors: reservation_not_found, invalid_transition, overflow, map_full, lmdb_failed.
    [[nodiscard]] result<ledger_row> commit(std::uint64_t reservation_id, const settlement& facts,
                                            std::string_view evidence = {},
                                            std::optional<agent_usage>* left = nullptr);
    /// The merchant refused the payment. The amount stays counted until the chain proves the
    /// authorization can never settle (signed is spent until proven otherwise).
    /// From reserved or in_doubt.
    [[nodiscard]] result<ledger_row> fail(std::uint64_t reservation_id, std::string_view why,
                                          std::uint16_t merchant_status = 0);
    /// Outcome unknown (timeout, success:false without evidence). From reserved or failed.
    [[nodiscard]] result<ledger_row> mark_in_doubt(std::uint64_t reservation_id,
                                                   std::string_view why);
    /// Gives the money back for a reservation whose signature never left this process (signing
    /// failed, the retry never got a byte onto the wire). From reserved only.
    [[nodiscard]] result<ledger_row> release(std::uint64_t reservation_id, std::string_view why);

    /// Failed and in-doubt rows whose authorization is past expires_at + margin_s at `now_ms`:
    /// the rows to ask the chain about. Oldest expiry first, at most `limit`.
    [[nodiscard]] result<std::vector<ledger_row>> awaiting_proof(std::uint64_t now_ms,
                                                                 std::uint64_t margin_s,
                                                                 std::size_t limit) const;
    /// The chain proved that this authorization can never move money (its validBefore passed
    /// and authorizationState(payer, nonce) is still false): expired, money given back. `proof`
    /// becomes the detail. From failed or in_doubt, and only once the store clock is past
    /// expires_at + margin_s (a clock-skew margin); otherwise invalid_transition.
    [[nodiscard]] result<ledger_row> expire_unsettled(std::uint64_t reservation_id,
                                                      std::string_view proof,
                                                      std::uint64_t margin_s);
    /// Marks `reserved` rows of processes that are gone (crashed) as in_doubt. open() calls it.
    /// Returns how many. Errors: lmdb_failed, io_failed.
    [[nodiscard]] result<std::size_t> recover();

    // ---- IOU channels ----------------------------------------------------------------------------
    // A voucher is reserved by reserve() with reserve_request::voucher set; its later steps move
    // its row, its deposit's row (deposit_id, 0 = none) and the channel in one transaction.

    /// nullopt when unknown. Errors: lmdb_failed, corrupt_record.
    [[nodiscard]] result<std::optional<channel>> get_channel(std::string_view id) const;
    /// The funds and state of each of `ids` (nullopt: unknown), in order, from one snapshot: one
    /// read transaction however many, and no text decoded (a merchant's group of channels is
    /// read on every voucher).
    [[nodiscard]] result<std::vector<std::optional<channel_funds>>> get_channel_funds(
        const std::vector<std::string>& ids) const;
    /// Every channel, by id.
    [[nodiscard]] result<std::vector<channel>> list_channels() const;
    /// What all channels not closed hold in escrow (deposits, signed or landed, less what was
    /// claimed), in atomic units summed across tokens: the figure payment.iou.max_total caps in
    /// reserve(). The payment flow reads it to decide whether opening another channel can pass.
    [[nodiscard]] result<protocol::uint256> escrow_held() const;
    /// The merchant accepted the voucher: its row is paid (counting the signed increase, whatever
    /// the merchant says it charged), the deposit's row paid when it landed (in_doubt when the
    /// merchant did not settle it), and the channel takes the reported, already checked, state.
    /// From reserved, failed or in_doubt. `left` as in commit(). Errors: reservation_not_found,
    /// invalid_transition, corrupt_record, map_full, lmdb_failed.
    [[nodiscard]] result<ledger_row> commit_voucher(std::uint64_t reservation_id,
                                                    std::uint64_t deposit_id,
                                                    const voucher_settlement& facts,
                                                    std::string_view evidence = {},
                                                    std::optional<agent_usage>* left = nullptr);
    /// The voucher never left the process: its row and its deposit's are released and the
    /// channel's signed high goes back to what it was. From reserved.
    [[nodiscard]] result<ledger_row> release_voucher(std::uint64_t reservation_id,
                                                     std::uint64_t deposit_id,
                                                     std::string_view why);
    /// The voucher left but was not accepted, or its answer is unknown: the row becomes `to`
    /// (failed or in_doubt) and stays counted, since the merchant holds the signature; a reserved
    /// deposit becomes in_doubt. `signature` of `max_claimable` is kept when it is the high.
    [[nodiscard]] result<ledger_row> unsettled_voucher(std::uint64_t reservation_id,
                                                       std::uint64_t deposit_id, status to,
                                                       std::string_view why,
                                                       std::string_view signature,
                                                       const protocol::uint256& max_claimable,
                                                       std::uint16_t merchant_status = 0);
    /// Adopts the merchant's charged cumulative amount (a verified corrective 402, or the chain's
    /// totalClaimed after lost state) as the next voucher's base. Refused above the signed high.
    /// `proven_max` with `proven_signature`: a voucher this wallet is proven (by the signature)
    /// to have signed, above what the store knows after lost state: the high is raised to it
    /// (exposure that was counted when it was signed, so no agent is charged again).
    [[nodiscard]] result<channel> resync_channel(std::string_view id,
                                                 const protocol::uint256& charged,
                                                 std::optional<protocol::uint256> claimed,
                                                 std::string_view note = {},
                                                 std::optional<protocol::uint256> proven_max = {},
                                                 std::string_view proven_signature = {});
    /// Records a channel found on chain that the store does not know (its state was lost):
    /// `found` with deposited = the escrow's balance and charged = claimed = signed_max = its
    /// totalClaimed. A channel the store knows is returned unchanged.
    [[nodiscard]] result<channel> adopt_channel(const channel& found);
    /// Quarantines, or marks withdrawing/closed. A quarantined channel stays quarantined.
    [[nodiscard]] result<channel> set_channel_state(std::string_view id, channel_state to,
                                                    std::string_view note = {});

    /// An explicit deposit (`purser iou deposit`), reserved before its authorization is signed:
    /// a deposit row (counted against no agent; `request` gives its host, network, asset, payer;
    /// its amount, nonce and expiry) and the channel's pending deposit, the channel created from
    /// `fresh` when the store has none, checked against the escrow caps, in one transaction.
    /// Returns the row's id. Errors: invalid_argument (the channel is not open, or a cap would be
    /// passed: the detail says which), lmdb_failed, map_full.
    [[nodiscard]] result<std::uint64_t> reserve_deposit(const channel& fresh, const ledger_row& request,
                                                        std::optional<protocol::uint256> channel_cap,
                                                        std::optional<protocol::uint256> total_cap);
    /// The outcome of an explicit deposit: paid (it landed: the channel's deposited grows),
    /// released (the chain proves it cannot land: its transaction reverted or was never
    /// accepted) or in_doubt (unknown; it stays pending). Errors: reservation_not_found,
    /// invalid_transition, lmdb_failed.
    [[nodiscard]] result<ledger_row> settle_deposit(std::uint64_t deposit_id, status to,
                                                    std::string_view tx_hash, std::string_view why);
    /// Money that left the escrow back to the wallet (a finalized withdrawal or a refund):
    /// deposited shrinks by `returned` (never below what was claimed), and the channel takes
    /// state `to` with `note` (a quarantined channel stays quarantined). Errors: as
    /// set_channel_state.
    [[nodiscard]] result<channel> record_channel_exit(std::string_view id,
                                                      const protocol::uint256& returned,
                                                      channel_state to, std::string_view note);

    // ---- fleet budget leases (budget_lease.hpp) ---------------------------------------------
    // reserve_request::budgets names the budgets a payment draws on; reserve() declines
    // budget_unavailable unless each has remaining() >= the amount, and consumes it on approval.

    /// Installs a lease: a new account for its budget, or more of the open account's window.
    /// Returns the account. Errors: invalid_argument (empty or long budget name, lease id 0,
    /// granted 0, a lease id already installed), invalid_transition (the budget's account is
    /// closing, or is of another window: close and forget it first), map_full, lmdb_failed.
    [[nodiscard]] result<budget_account> add_budget_lease(const budget_lease_grant& grant);
    /// Every budget account, by budget name. Errors: lmdb_failed, corrupt_record.
    [[nodiscard]] result<std::vector<budget_account>> budget_accounts() const;
    /// Stops draws on the budget's account and fixes what each of its leases spent (consumed,
    /// filling the leases in order), to return them to the fleet database. Closing twice
    /// returns the same figures. Later give-backs no longer reach it (what was in flight at the
    /// close stays reported spent: never less than was signed). Errors: invalid_argument (no
    /// account for the budget), map_full, lmdb_failed.
    [[nodiscard]] result<budget_account> close_budget_account(const std::string& budget);
    /// Deletes the closed account of `budget` with `serial` once its leases are returned.
    /// Returns false when there is none (already forgotten). Errors: invalid_transition (the
    /// account is not closing), map_full, lmdb_failed.
    [[nodiscard]] result<bool> forget_budget_account(const std::string& budget, std::uint64_t serial);

    // ---- ledger --------------------------------------------------------------------------------
    /// Errors: reservation_not_found (no such row), lmdb_failed, corrupt_record.
    [[nodiscard]] result<ledger_row> get_row(std::uint64_t id) const;
    /// Rows matching `q`, oldest first. Uses the agent, host or status index when one is given.
    [[nodiscard]] result<std::vector<ledger_row>> list_ledger(const ledger_query& q) const;
    /// The same rows as list_ledger but read by scanning every row (the benchmark's baseline).
    [[nodiscard]] result<std::vector<ledger_row>> list_ledger_full_scan(const ledger_query& q) const;
    /// Totals over rows in [since_ms, until_ms), grouped; sorted by key (then day).
    [[nodiscard]] result<std::vector<spend_row>> spend(spend_group by,
                                                       std::optional<std::uint64_t> since_ms,
                                                       std::optional<std::uint64_t> until_ms) const;

    /// Deletes ledger rows decided before `before_ms`, oldest first, in batches of at most 512
    /// rows per write transaction. `archive`, when given, receives each batch before it is
    /// deleted and must have made it durable when it returns; its error stops the prune (that
    /// batch stays). Without an archive, paid rows are kept: money that moved is never forgotten
    /// without a copy. Rows that may still move money (reserved, failed, in doubt) are never
    /// pruned. Counters do not change: what pruned rows counted is carried in the store, so
    /// check_counters() still holds. Errors: invalid_argument (`before_ms` within the last
    /// hour), map_full, lmdb_failed.
    [[nodiscard]] result<prune_report> prune(
        std::uint64_t before_ms,
        const std::function<result<void>(const std::vector<ledger_row>&)>& archive = {});

    /// Recomputes every agent's counters from the ledger and compares them with the stored
    /// counters in one read transaction. Returns a description of the first mismatch, or "".
    [[nodiscard]] result<std::string> check_counters() const;

    // ---- fleet outbox ---------------------------------------------------------------------------
    // Every new row, status change and fold-count change of a ledger row queues the row's id in
    // the outbox in the same write transaction (while the outbox is on, see outbox_mode), so a
    // crash never loses a change that must reach the fleet database. A row changed many times
    // waits once, with its latest version. Shipping is at least once: read a batch, ship it,
    // acknowledge it after the fleet database committed it.

    /// Up to `limit` waiting rows, lowest row id first, each as it is now. Errors: lmdb_failed,
    /// corrupt_record.
    [[nodiscard]] result<std::vector<outbox_entry>> outbox_batch(std::size_t limit) const;
    /// Removes the shipped entries from the outbox, except those whose row changed again after
    /// the batch was read (their version moved on: they ship again). Returns how many were
    /// removed. Errors: map_full, lmdb_failed.
    [[nodiscard]] result<std::size_t> outbox_ack(const std::vector<outbox_entry>& shipped);
    /// How many rows wait in the outbox. Errors: lmdb_failed.
    [[nodiscard]] result<std::uint64_t> outbox_pending() const;
    /// Whether changes are being queued (the mode last set on this store).
    [[nodiscard]] result<bool> outbox_enabled() const;

    // ---- upkeep ----------------------------------------------------------------------------
    /// Frees LMDB reader slots held by processes that have died (a `purser ledger` killed
    /// mid-read). Write transactions call it every open_options::reader_check_interval_s on
    /// their own; a caller with a timer may call it too. Returns how many slots were freed.
    /// Errors: lmdb_failed.
    [[nodiscard]] result<std::size_t> clear_stale_readers();
    /// Size and work counters. Errors: lmdb_failed.
    [[nodiscard]] result<store_stats> stats() const;

    /// The store clock's now (unix ms).
    [[nodiscard]] std::uint64_t now_ms() const;

    class impl;

private:
    explicit store(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace purser::store
