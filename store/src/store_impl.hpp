// The inside of purser::store::store: the environment, its databases, and the helpers every
// operation shares. Only the store's .cpp files include this.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "purser/store/group_commit.hpp"
#include "purser/store/lmdb.hpp"
#include "purser/store/store.hpp"
#include "records.hpp"
#include "session.hpp"

namespace purser::store {

class store::impl {
public:
    impl(detail::env&& e, open_options&& o, std::filesystem::path store_dir, detail::session_lock&& s)
        : env(std::move(e)), options(std::move(o)), dir(std::move(store_dir)), session(std::move(s)) {}

    detail::env env;
    open_options options;
    std::filesystem::path dir;
    detail::session_lock session;

    MDB_dbi meta = 0;       ///< "schema_version", "next_agent_id"
    MDB_dbi agents = 0;     ///< name -> agent
    MDB_dbi counters = 0;   ///< agent id, kind, period -> u64
    MDB_dbi ledger = 0;     ///< id -> row
    MDB_dbi by_time = 0;    ///< at_ms, id
    MDB_dbi by_agent = 0;   ///< agent name, at_ms, id
    MDB_dbi by_host = 0;    ///< host, at_ms, id
    MDB_dbi by_status = 0;  ///< status, id
    MDB_dbi by_expiry = 0;  ///< expires_at, id (open rows with an expiry only)
    MDB_dbi rate = 0;       ///< agent name, at_ms -> approvals (the last rate_keep_ms only;
                            ///< agents with a rate limit only)
    MDB_dbi by_decline = 0; ///< agent name, host, reason -> id of the row declines fold into
    MDB_dbi pruned = 0;     ///< counter key -> what pruned rows counted (check_counters adds it)
    MDB_dbi channels = 0;   ///< channel id (0x hex) -> channel
    MDB_dbi outbox = 0;     ///< ledger row id -> outbox version of its latest change (fleet)
    MDB_dbi budget_accounts = 0;  ///< fleet budget name -> budget_account
    MDB_dbi lease_draws = 0;      ///< ledger id -> what its row drew from which account

    [[nodiscard]] std::uint64_t now() const { return options.clock(); }

    // Upkeep (upkeep.cpp).
    /// Every write transaction starts here: the periodic stale-reader check, growing the map
    /// when it is 80% full (or a write met MDB_MAP_FULL) and below max_size_bytes, then begin.
    [[nodiscard]] result<detail::write_txn> begin_write();
    /// Runs `op` (result<T>(detail::write_txn&)) in a durable write transaction and returns its
    /// result only after that transaction has committed. With open_options::group_commit the
    /// transaction is a batch's nested one (group_commit.hpp); without, one of its own. An error
    /// of `op` undoes its changes. `op` may run twice (map_full, see group_committer::run).
    /// `until` wait_for::committed: for an outcome, whose loss in a system crash leaves its row
    /// as it was reserved, still counted (group_commit.hpp): returns before the meta page's flush.
    template <class T, class Op>
    [[nodiscard]] result<T> write(Op&& op, detail::group_committer::wait_for until =
                                               detail::group_committer::wait_for::durable);
    /// Makes every write committed so far durable (one device flush).
    [[nodiscard]] result<void> flush() { return detail::sync_env(env.get()); }
    /// Batches the money operations' write transactions (open_options::group_commit).
    detail::group_committer group{[this] { return begin_write(); }, linger_policy()};
    /// open_options' commit_delay_us and commit_siblings, counting rows `reserved` (linger.cpp).
    [[nodiscard]] detail::group_committer::linger_policy linger_policy() const;
    /// Every read transaction starts here (it holds the gate shared, like writes).
    [[nodiscard]] result<detail::read_txn> begin_read() const;
    /// Doubles the map (up to max_size_bytes) when due. Skips, to try at the next write, when
    /// this process's transactions do not end within detail::gate_wait.
    [[nodiscard]] result<void> maybe_grow();
    /// Held shared by every transaction; exclusively while the map size changes.
    mutable detail::gate_mutex gate;
    /// A write met MDB_MAP_FULL: grow before the next one whatever the fill.
    std::atomic<bool> map_full_seen{false};
    /// mdb_reader_check: frees reader slots of dead processes. Returns how many were freed.
    [[nodiscard]] result<std::size_t> check_readers();
    /// Steady-clock ms of the last reader check (0 = never); shared by all threads.
    std::atomic<std::int64_t> last_reader_check_ms{0};
    std::atomic<std::uint64_t> readers_cleared{0};
    /// Ledger rows read since open: the work a query or decision did, for stats() and for tests
    /// that prove a cost does not grow with unrelated rows.
    mutable std::atomic<std::uint64_t> rows_visited{0};
    /// Rate-index entries read since open: what rate checks cost, which tests bound.
    mutable std::atomic<std::uint64_t> rate_entries_visited{0};

    /// Ids from a time-ordered index (`by_time` with an empty prefix; `by_agent` or `by_host`
    /// with a name's key_str): the keys prefix, at_ms, id with since_ms <= at_ms < until_ms.
    [[nodiscard]] result<std::vector<std::uint64_t>> ids_in_range(
        const detail::txn_base& t, MDB_dbi dbi, const std::string& prefix, std::uint64_t since_ms,
        std::optional<std::uint64_t> until_ms = std::nullopt) const;
    /// Ids of the rows in status `s`, from the status index, in id order, at most `most`.
    [[nodiscard]] result<std::vector<std::uint64_t>> ids_with_status(
        const detail::txn_base& t, status s, std::size_t most = SIZE_MAX) const;

    // Agents.
    [[nodiscard]] result<std::optional<agent>> load_agent(const detail::txn_base& t,
                                                          std::string_view name) const;
    /// Every agent record, removed agents included, in name order.
    [[nodiscard]] result<std::vector<agent>> all_agents(const detail::txn_base& t) const;
    /// Like load_agent, but a missing or removed agent is agent_not_found.
    [[nodiscard]] result<agent> must_load_agent(const detail::txn_base& t,
                                                std::string_view name) const;
    /// remove_agent leaves a tombstone: the record stays (rows and counters refer to it).
    [[nodiscard]] result<bool> is_removed(const detail::txn_base& t, std::string_view name) const;
    [[nodiscard]] result<void> save_agent(detail::write_txn& t, const agent& a) const;

    // Counters.
    [[nodiscard]] result<std::uint64_t> counter(const detail::txn_base& t, std::uint64_t agent_id,
                                                detail::counter_kind kind,
                                                std::uint32_t period) const;
    /// The agent's counters and allowance as `t` sees them, at store time `now`.
    [[nodiscard]] result<agent_usage> usage_in(const detail::txn_base& t, std::string_view name,
                                               std::uint64_t now) const;
    /// counter += add - sub, checked (underflow means the counters disagree with the ledger).
    [[nodiscard]] result<void> adjust_counter(detail::write_txn& t, std::uint64_t agent_id,
                                              detail::counter_kind kind, std::uint32_t period,
                                              std::uint64_t sub, std::uint64_t add) const;

    // The rate index (rate.cpp).
    /// Approvals of `agent` at or after `from_ms`, summed from the rate index: the cost is the
    /// number of distinct approval milliseconds in the window, never the declines.
    [[nodiscard]] result<std::uint64_t> approvals_since(const detail::txn_base& t,
                                                        std::string_view agent,
                                                        std::uint64_t from_ms) const;
    /// Milliseconds from `now` until the window of the last rate_window_ms ending then holds
    /// fewer than `limit` of `agent`'s approvals: when the oldest ones that must leave it have.
    [[nodiscard]] result<std::uint64_t> rate_frees_in(const detail::txn_base& t, std::string_view agent,
                                                      std::uint64_t now, std::uint64_t limit) const;
    /// Adds one approval at `at_ms` (add) or takes one away; taking from an entry already pruned
    /// is a no-op.
    [[nodiscard]] result<void> adjust_rate(detail::write_txn& t, std::string_view agent,
                                           std::uint64_t at_ms, bool add) const;
    /// Deletes `agent`'s entries older than now - rate_keep_ms.
    /// A decline like `fresh` (same agent, host, reason) recorded less than decline_fold_ms ago
    /// counts one more repeat instead of a new row: returns that row's id. Otherwise `fresh`
    /// (about to be written) becomes the row later ones fold into, and nullopt is returned.
    [[nodiscard]] result<std::optional<std::uint64_t>> fold_decline(detail::write_txn& t,
                                                                    const detail::stored_row& fresh);
    [[nodiscard]] result<void> prune_rate(detail::write_txn& t, std::string_view agent,
                                          std::uint64_t now) const;
    /// Fills an empty rate index from the ledger's last rate_keep_ms, for the agents with a rate
    /// limit (stores made before the index, or before it kept only those agents).
    [[nodiscard]] result<void> build_rate_index(detail::write_txn& t, std::uint64_t now) const;
    /// Deletes `agent`'s rate entries, then, when `limited`, adds its approvals of the last
    /// rate_keep_ms from the agent index: its limit came (or went) with set_policy.
    [[nodiscard]] result<void> rebuild_agent_rate(detail::write_txn& t, std::string_view agent,
                                                  std::uint64_t now, bool limited) const;

    // IOU channels (channels.cpp).
    [[nodiscard]] result<std::optional<channel>> load_channel(const detail::txn_base& t,
                                                              std::string_view id) const;
    [[nodiscard]] result<void> save_channel(detail::write_txn& t, channel& c) const;
    /// Deposits less claims over every channel not closed: what all escrow holds for this
    /// wallet, for voucher_request::total_cap.
    [[nodiscard]] result<protocol::uint256> escrow_total(const detail::txn_base& t) const;

    // Fleet budget leases (budget_leases.cpp).
    /// True when every budget of `budgets` has an account with remaining(now) >= amount.
    [[nodiscard]] result<bool> budgets_cover(const detail::txn_base& t,
                                             const std::vector<std::string>& budgets,
                                             usd_micros amount, std::uint64_t now) const;
    /// Consumes `amount` of each budget's account for ledger row `id` (after budgets_cover).
    [[nodiscard]] result<void> draw_budgets(detail::write_txn& t, std::uint64_t id,
                                            const std::vector<std::string>& budgets,
                                            usd_micros amount) const;
    /// Row `id` now counts `counted`: its draws follow, up to what they first drew (a release or
    /// proven expiry gives back; late evidence of payment takes again).
    [[nodiscard]] result<void> follow_draws(detail::write_txn& t, std::uint64_t id,
                                            usd_micros counted) const;

    // Ledger rows.
    [[nodiscard]] result<std::optional<detail::stored_row>> load_row(const detail::txn_base& t,
                                                                     std::uint64_t id) const;
    [[nodiscard]] result<std::uint64_t> next_ledger_id(const detail::txn_base& t) const;
    /// Writes `now_row` and keeps every index, counter and the allowance in step with the change
    /// from `before` (nullopt for a new row).
    [[nodiscard]] result<void> write_row(detail::write_txn& t, const detail::stored_row& now_row,
                                         const std::optional<detail::stored_row>& before) const;

    // The fleet outbox (outbox.cpp).
    /// Queues row `id` with the next outbox version when the outbox is on; nothing otherwise.
    [[nodiscard]] result<void> queue_outbox(detail::write_txn& t, std::uint64_t id) const;
    /// Records `mode` (on/off) in meta; as_stored changes nothing.
    [[nodiscard]] result<void> set_outbox_mode(detail::write_txn& t, outbox_mode mode) const;
};

template <class T, class Op>
result<T> store::impl::write(Op&& op, detail::group_committer::wait_for until) {
    if (!options.group_commit) {
        PURSER_TRY(t, begin_write());
        PURSER_TRY(value, op(t));
        if (until == detail::group_committer::wait_for::durable) {
            PURSER_CHECK(t.commit());
        } else {
            PURSER_TRY(state, t.commit_leaving_meta_sync());
            (void)state;
        }
        return value;
    }
    std::optional<result<T>> out;
    const detail::group_committer::op_fn batched = [&](detail::write_txn& t) -> result<void> {
        out = op(t);
        if (!*out) return tl::unexpected(out->error());
        return {};
    };
    // The batch's error (nothing durable) wins over what the operation returned.
    PURSER_CHECK(group.run(batched, until));
    return std::move(*out);
}

/// Lowercase ASCII copy.
[[nodiscard]] std::string ascii_lower(std::string_view s);

}  // namespace purser::store
