#include "purser/store/group_commit.hpp"

#include <algorithm>
#include <new>
#include <optional>
#include <thread>
#include <vector>

#include "purser/store/errc.hpp"

namespace purser::store::detail {

namespace {

result<void> run_one(const group_committer::op_fn& op, write_txn& t) {
    // Out of memory in one operation must not strand the other callers of the batch, who wait
    // for the leader to hand them their results.
    try {
        return op(t);
    } catch (const std::bad_alloc&) {
        return purser::fail(std::make_error_code(std::errc::not_enough_memory),
                            "out of memory in a store operation");
    }
}

}  // namespace

result<void> group_committer::run(const op_fn& op, wait_for until) {
    waiter me;
    me.op = &op;
    me.until = until;
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.push_back(&me);
    if (linger_until_ != 0 && queue_.size() >= linger_until_) linger_wake_.notify_one();
    // No batch running means every unfinished caller is in the queue, so whoever sees that first
    // leads; a leader whose own operation was left for later (a full batch, map_full) loops.
    while (!me.done) {
        if (leading_) {
            me.wake.wait(lock);
            continue;
        }
        leading_ = true;
        std::vector<waiter*> answer;
        lead(lock, answer);
        leading_ = false;
        // The next batch's leader: the first caller still queued (a newcomer may lead first; the
        // woken one then waits again, and that batch's end wakes the queue's new first).
        waiter* next = queue_.empty() || queue_.front() == &me ? nullptr : queue_.front();
        wake_after_unlock(lock, &me, answer, next);
        lock.lock();
    }
    lock.unlock();
    // A wake-up promised to this caller may still be on its way (it saw done on an early or
    // spurious wake): `me` must outlive it.
    while (me.pending_wakes.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    return std::move(me.outcome);
}

void group_committer::wake_after_unlock(std::unique_lock<std::mutex>& lock, const waiter* self,
                                        const std::vector<waiter*>& answer, waiter* next_leader) {
    for (waiter* w : answer) {
        w->done = true;
        if (w != self) w->pending_wakes.fetch_add(1, std::memory_order_relaxed);
    }
    if (next_leader != nullptr) next_leader->pending_wakes.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    auto wake = [](waiter* w) {
        w->wake.notify_one();
        w->pending_wakes.fetch_sub(1, std::memory_order_release);
    };
    for (waiter* w : answer) {
        if (w != self) wake(w);
    }
    if (next_leader != nullptr) wake(next_leader);
}

void group_committer::lead(std::unique_lock<std::mutex>& lock, std::vector<waiter*>& answer) {
    lock.unlock();
    // Begin before taking the queue: while this waits for LMDB's write lock (held by another
    // process, or by a write outside the batches) more callers queue up and join this batch.
    auto parent = begin_();
    lock.lock();
    if (parent) linger(lock, *parent);
    std::vector<waiter*> batch;
    while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
    }
    lock.unlock();

    std::optional<error> failed;  // the batch's own error: nothing of it is durable
    if (!parent) failed = parent.error();
    std::size_t ran = 0;
    for (; !failed && ran < batch.size(); ++ran) {
        waiter& w = *batch[ran];
        auto child = write_txn::begin_nested(*parent);
        if (!child) {
            failed = child.error();
            break;
        }
        w.outcome = run_one(*w.op, *child);
        if (w.outcome) {
            // A child commit that fails may have left the parent half-merged: give up the batch.
            if (auto merged = child->commit(); !merged) {
                failed = merged.error();
                break;
            }
        } else if (w.outcome.error().code == errc::map_full && !w.retried) {
            // The map can only grow between transactions. Commit what fitted; this operation
            // and the rest run first in the next batch, whose begin grows the map.
            w.retried = true;
            break;
        }
        // A failed operation's child is aborted as it goes out of scope: its changes vanish,
        // the batch goes on.
    }
    std::vector<waiter*> again(batch.begin() + static_cast<std::ptrdiff_t>(ran), batch.end());
    if (failed) again.clear();
    commit_sync state = commit_sync::unchanged;
    if (!failed && ran > 0) {
        MDB_env* e = mdb_txn_env(parent->handle());
        if (auto c = parent->commit_leaving_meta_sync(); !c) {
            failed = c.error();
            // A commit can meet map_full too (the free list needs pages): the whole batch runs
            // once more after the map has grown.
            if (c.error().code == errc::map_full) {
                std::vector<waiter*> retry;
                for (std::size_t i = 0; i < ran; ++i) {
                    if (!batch[i]->retried) {
                        batch[i]->retried = true;
                        retry.push_back(batch[i]);
                    }
                }
                again.insert(again.begin(), retry.begin(), retry.end());
            }
        } else {
            state = *c;
            env_ = e;
            batches_.fetch_add(1);
            operations_.fetch_add(ran);
        }
    }

    std::vector<waiter*> finished;
    for (waiter* w : batch) {
        if (std::find(again.begin(), again.end(), w) != again.end()) continue;
        if (failed) w->outcome = tl::unexpected(*failed);
        finished.push_back(w);
    }
    lock.lock();
    for (auto it = again.rbegin(); it != again.rend(); ++it) queue_.push_front(*it);
    const bool next_batch_queued = !queue_.empty();
    lock.unlock();

    settle(finished, failed ? commit_sync::unchanged : state, next_batch_queued && !failed, answer);
    lock.lock();
}

void group_committer::linger(std::unique_lock<std::mutex>& lock, const write_txn& t) {
    if (linger_.delay.count() <= 0 || !linger_.in_flight) return;
    lock.unlock();
    const std::size_t in_flight = linger_.in_flight(t);
    lock.lock();
    if (in_flight < std::max<std::size_t>(linger_.siblings, 1)) return;
    linger_until_ = std::min(in_flight, max_batch);
    lingered_.fetch_add(1);
    linger_wake_.wait_for(lock, linger_.delay, [this] { return queue_.size() >= linger_until_; });
    linger_until_ = 0;
}

void group_committer::settle(const std::vector<waiter*>& finished, commit_sync state,
                             bool next_batch_queued, std::vector<waiter*>& answer) {
    // A commit that wrote anything flushed its data pages first, and with them the meta pages
    // of every batch committed before it: whoever waited for that is durable now.
    if (state != commit_sync::unchanged) {
        answer.insert(answer.end(), waiting_flush_.begin(), waiting_flush_.end());
        waiting_flush_.clear();
    }
    for (waiter* w : finished) {
        const bool needs_flush = state == commit_sync::meta_unsynced && w->outcome &&
                                 w->until == wait_for::durable;
        (needs_flush ? waiting_flush_ : answer).push_back(w);
    }
    if (waiting_flush_.empty()) return;
    // Only a next batch that writes flushes: one is coming when callers are queued and this
    // batch wrote (a batch that wrote nothing, or failed, may be followed by more of the same).
    if (next_batch_queued && state != commit_sync::unchanged) return;
    auto flushed = sync_env(env_);
    own_flushes_.fetch_add(1);
    for (waiter* w : waiting_flush_) {
        // Committed but not known durable: the caller must not act as if it were (no signature
        // leaves); the row stays counted, and reconcile settles it.
        if (!flushed) w->outcome = tl::unexpected(flushed.error());
        answer.push_back(w);
    }
    waiting_flush_.clear();
}

}  // namespace purser::store::detail
