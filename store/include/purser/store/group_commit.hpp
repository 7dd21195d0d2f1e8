// Group commit: the write operations of concurrent callers share one LMDB write transaction and
// so one durable commit (one fsync instead of one per operation), without a thread of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "purser/store/lmdb.hpp"

namespace purser::store::detail {

/// Leader/follower batching. A caller queues its operation and waits; when no batch is running it
/// becomes the leader: it begins one write transaction, takes every operation queued by then, runs
/// each in a nested transaction of its own (in queue order, so each sees the effects of those
/// before it: the batch is one serial history, and caps checked in it are exact), commits once,
/// and only then hands every caller its result. Nothing is reported before the commit that makes
/// it durable has returned: if that commit fails, every operation of the batch gets its error.
///
/// In an environment opened with MDB_NOMETASYNC a batch's commit flushes its data pages and
/// writes its meta page unflushed. A caller who needs its change to survive a system crash (a
/// reservation, before its signature may leave) then waits for the next flush of the file: the
/// next batch's data flush when callers are queued for one (so under load each batch costs one
/// device flush instead of two), or a flush of its own when none are. A caller whose change may
/// be undone by a system crash without harm (an outcome: undone, the row stays reserved and
/// counted, and reconcile settles it from the chain) is answered as soon as its batch commits.
class group_committer {
public:
    /// What a caller waits for.
    enum class wait_for {
        durable,    ///< its changes survive a system crash
        committed,  ///< its changes are committed (visible, and survive a crash of this process)
    };
    /// Begins the batch's write transaction (the store's begin_write: reader check, map growth).
    using begin_fn = std::function<result<write_txn>()>;
    /// One operation: its work on a (nested) write transaction. An error aborts only its own
    /// nested transaction.
    using op_fn = std::function<result<void>(write_txn&)>;

    /// Counts the payments in flight (reserved, outcome not yet recorded) as of `t`: each will
    /// bring the committer an operation soon.
    using in_flight_fn = std::function<std::size_t(const write_txn&)>;

    /// Lingering, after PostgreSQL's commit_delay and commit_siblings. Every batch writes about
    /// the same pages (the right edge of each table it touches: ~20 pages, and their flush, for
    /// one reservation or for ten), so its cost is per batch, not per operation; but under load
    /// the batches stay small, because a commit's flush is short against the gaps between
    /// operations. So when at least `siblings` payments are in flight, a leader that has begun
    /// its transaction waits up to `delay` before taking the queue, and stops waiting as soon as
    /// as many operations are queued as payments were in flight. With fewer in flight (an agent
    /// or two) it never waits: there the delay would be added to every payment's latency.
    /// While it waits it holds LMDB's write lock (another process's writer waits too), and the
    /// last batch's durable callers wait with it for the flush this batch will make.
    struct linger_policy {
        std::chrono::microseconds delay{0};  ///< 0: never linger
        std::size_t siblings = 5;
        in_flight_fn in_flight;
    };

    explicit group_committer(begin_fn begin) : begin_(std::move(begin)) {}
    group_committer(begin_fn begin, linger_policy linger)
        : begin_(std::move(begin)), linger_(std::move(linger)) {}

    /// Runs `op` in the next batch and returns once that batch's commit has returned: the
    /// operation's own error, or the batch's (begin or commit failed: nothing of the batch is
    /// durable), or success (the operation's changes are durable). An operation that meets
    /// map_full runs again, first, in a fresh batch (which grows the map before it begins), once.
    /// `op` may run more than once (only the last run's changes are kept): it must write its
    /// outputs, not accumulate them.
    /// With wait_for::committed, success means committed, not yet durable (see above).
    [[nodiscard]] result<void> run(const op_fn& op, wait_for until = wait_for::durable);

    /// Flushes made for callers that no next batch would flush for: the rest rode on the next
    /// batch's data flush (tests and benchmarks read it).
    [[nodiscard]] std::uint64_t own_flushes() const { return own_flushes_.load(); }

    /// Batches committed and operations they carried since construction: the batching achieved.
    [[nodiscard]] std::uint64_t batches() const { return batches_.load(); }
    [[nodiscard]] std::uint64_t operations() const { return operations_.load(); }
    /// Batches whose leader lingered for payments in flight (linger_policy).
    [[nodiscard]] std::uint64_t lingered() const { return lingered_.load(); }
    /// Operations waiting for a batch to take them (tests use it to line a batch up).
    [[nodiscard]] std::size_t queued() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return queue_.size();
    }

    /// Most operations in one batch: bounds one transaction's dirty pages (LMDB keeps them in
    /// memory until the commit) and the growth a batch may need past the map's headroom.
    static constexpr std::size_t max_batch = 256;

private:
    struct waiter {
        const op_fn* op = nullptr;
        wait_for until = wait_for::durable;
        result<void> outcome{};
        bool done = false;
        bool retried = false;  ///< already sent back once after map_full
        /// Woken alone: when its result is in, or when it is first in line to lead. One shared
        /// condition woken for all would wake every queued caller at each batch's end, only for
        /// most to sleep again: a context switch each, which costs more than the batch saves.
        std::condition_variable wake;
        /// Wake-ups promised under mutex_ and made after releasing it (a thread woken while the
        /// mutex is held only blocks on it again: a second sleep and switch). The caller does
        /// not return, destroying `wake`, until the last one has been made.
        std::atomic<int> pending_wakes{0};
    };
    /// Runs one batch. Called with `lock` held and leading_ set; returns with `lock` held and
    /// the callers it finished in `answer` (their results set, not yet marked done).
    void lead(std::unique_lock<std::mutex>& lock, std::vector<waiter*>& answer);
    /// Under `lock`: marks `answer` done and promises each (but `self`) a wake-up; releases the
    /// lock and makes the wake-ups, and the one of `next_leader` if any.
    static void wake_after_unlock(std::unique_lock<std::mutex>& lock, const waiter* self,
                                  const std::vector<waiter*>& answer, waiter* next_leader);
    /// Which of `batch`'s finished callers (and of those waiting on a flush) can be answered now:
    /// moves them to `answer`, the rest to waiting_flush_, flushing when no next batch will.
    void settle(const std::vector<waiter*>& finished, commit_sync state, bool next_batch_queued,
                std::vector<waiter*>& answer);
    /// Under `lock`, in the batch's transaction `t`: waits as linger_ says, woken early by run()
    /// once linger_until_ operations are queued.
    void linger(std::unique_lock<std::mutex>& lock, const write_txn& t);

    begin_fn begin_;
    linger_policy linger_;
    mutable std::mutex mutex_;
    std::deque<waiter*> queue_;
    bool leading_ = false;
    /// While the leader lingers: the queue length that ends it early (0: not lingering).
    std::size_t linger_until_ = 0;
    std::condition_variable linger_wake_;
    /// Committed callers waiting for a flush of their batch's meta page. Only the leader touches
    /// them (leading_ is handed over under mutex_).
    std::vector<waiter*> waiting_flush_;
    MDB_env* env_ = nullptr;  ///< of the last batch committed, for the flush they wait on
    std::atomic<std::uint64_t> own_flushes_{0};
    std::atomic<std::uint64_t> batches_{0};
    std::atomic<std::uint64_t> operations_{0};
    std::atomic<std::uint64_t> lingered_{0};
};

}  // namespace purser::store::detail
