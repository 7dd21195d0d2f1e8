// What group commit's linger counts: the payments in flight, each of which will bring the
// committer its outcome soon (group_commit.hpp, linger_policy).
#include "store_impl.hpp"

namespace purser::store {

detail::group_committer::linger_policy store::impl::linger_policy() const {
    detail::group_committer::linger_policy p;
    p.delay = std::chrono::microseconds(options.commit_delay_us);
    p.siblings = options.commit_siblings;
    // Rows `reserved`, from the status index, up to a batch's worth (a count past it would
    // change nothing): a few dozen index entries under load, read in the batch's own
    // transaction. Any error counts as none in flight: the batch then does not wait.
    p.in_flight = [this](const detail::write_txn& t) -> std::size_t {
        auto ids = ids_with_status(t, status::reserved, detail::group_committer::max_batch);
        return ids ? ids->size() : 0;
    };
    return p;
}

}  // namespace purser::store
