// What group commit's linger counts: the payments in flight, each of which will bring the
// committer its outcome soon (group_commit.hpp, linger_policy).
#include <algorithm>

#include "store_impl.hpp"

namespace purser::store {

detail::group_committer::linger_policy store::impl::linger_policy() const {
    detail::group_committer::linger_policy p;
    p.delay = std::chrono::microseconds(options.commit_delay_us);
    p.siblings = options.commit_siblings;
    // Rows `reserved`, from the status index, counted up to a batch's worth (a count past it
    // would change nothing): a few dozen index entries under load, read in the batch's own
    // transaction. Any error counts as none in flight: the batch then does not wait.
    p.in_flight = [this](const detail::write_txn& t) -> std::size_t {
        auto c = detail::cursor::open(t, by_status);
        if (!c) return 0;
        std::size_t n = 0;
        auto e = c->seek(detail::status_key(status::reserved, 0));
        while (e && *e && n < detail::group_committer::max_batch &&
               !(*e)->key.empty() && static_cast<std::uint8_t>((*e)->key[0]) ==
                                         static_cast<std::uint8_t>(status::reserved)) {
            ++n;
            e = c->next();
        }
        return n;
    };
    return p;
}

}  // namespace purser::store
