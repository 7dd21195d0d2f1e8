#include "group_commit.hpp"

#include <algorithm>
#include <new>
#include <optional>
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

result<void> group_committer::run(const op_fn& op) {
    waiter me;
    me.op = &op;
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.push_back(&me);
    // No batch running means every unfinished caller is in the queue, so whoever sees that first
    // leads; a leader whose own operation was left for later (a full batch, map_full) loops.
    while (!me.done) {
        if (leading_) {
            me.wake.wait(lock);
            continue;
        }
        leading_ = true;
        lead(lock);
        leading_ = false;
        // The next batch's leader: the first caller still queued (a newcomer may lead first; the
        // woken one then waits again, and that batch's end wakes the queue's new first).
        if (!queue_.empty()) queue_.front()->wake.notify_one();
    }
    return std::move(me.outcome);
}

void group_committer::lead(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    // Begin before taking the queue: while this waits for LMDB's write lock (held by another
    // process, or by a write outside the batches) more callers queue up and join this batch.
    auto parent = begin_();
    lock.lock();
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
    if (!failed && ran > 0) {
        if (auto c = parent->commit(); !c) {
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
            batches_.fetch_add(1);
            operations_.fetch_add(ran);
        }
    }

    lock.lock();
    for (auto it = again.rbegin(); it != again.rend(); ++it) queue_.push_front(*it);
    for (waiter* w : batch) {
        if (std::find(again.begin(), again.end(), w) != again.end()) continue;
        if (failed) w->outcome = tl::unexpected(*failed);
        w->done = true;
        // Under the lock: the waiter cannot return (and destroy its condition) before this ends.
        w->wake.notify_one();
    }
}

}  // namespace purser::store::detail
