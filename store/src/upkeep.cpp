// Keeping the environment healthy: clearing dead readers' slots, and reporting size and work.
#include <chrono>

#include "store_impl.hpp"

namespace purser::store {

namespace {

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

result<std::size_t> store::impl::check_readers() {
    int dead = 0;
    const int rc = mdb_reader_check(env.get(), &dead);
    if (rc != MDB_SUCCESS) return tl::unexpected(detail::lmdb_error(rc, "mdb_reader_check"));
    last_reader_check_ms.store(steady_ms());
    const auto n = static_cast<std::size_t>(dead > 0 ? dead : 0);
    readers_cleared.fetch_add(n);
    return n;
}

result<detail::write_txn> store::impl::begin_write() {
    // Before the write, not after: a slot freed now lets this very transaction reuse the pages
    // the dead reader pinned. The steady clock, not the store clock, paces it (tests freeze the
    // store clock). Two threads racing past the check both call mdb_reader_check: harmless.
    const std::int64_t interval_ms = std::int64_t{options.reader_check_interval_s} * 1000;
    const std::int64_t last = last_reader_check_ms.load();
    if (interval_ms == 0 || last == 0 || steady_ms() - last >= interval_ms) {
        PURSER_TRY(cleared, check_readers());
        (void)cleared;
    }
    return detail::write_txn::begin(env.get());
}

result<std::size_t> store::clear_stale_readers() { return impl_->check_readers(); }

result<store_stats> store::stats() const {
    MDB_envinfo info{};
    int rc = mdb_env_info(impl_->env.get(), &info);
    if (rc != MDB_SUCCESS) return tl::unexpected(detail::lmdb_error(rc, "mdb_env_info"));
    MDB_stat st{};
    rc = mdb_env_stat(impl_->env.get(), &st);
    if (rc != MDB_SUCCESS) return tl::unexpected(detail::lmdb_error(rc, "mdb_env_stat"));
    store_stats out;
    out.used_bytes = (std::uint64_t{info.me_last_pgno} + 1) * st.ms_psize;
    out.map_bytes = info.me_mapsize;
    out.max_bytes = info.me_mapsize;
    out.stale_readers_cleared = impl_->readers_cleared.load();
    out.rows_visited = impl_->rows_visited.load();
    return out;
}

}  // namespace purser::store
