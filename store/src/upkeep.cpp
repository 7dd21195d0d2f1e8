// Keeping the environment healthy: clearing dead readers' slots, and reporting size and work.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

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
    PURSER_CHECK(maybe_grow());
    return detail::write_txn::begin(env.get(), gate, &map_full_seen);
}

result<detail::read_txn> store::impl::begin_read() const {
    return detail::read_txn::begin(env.get(), gate);
}

namespace {

struct fill {
    std::uint64_t used = 0;
    std::uint64_t map = 0;
};

result<fill> current_fill(MDB_env* e) {
    MDB_envinfo info{};
    int rc = mdb_env_info(e, &info);
    if (rc != MDB_SUCCESS) return tl::unexpected(detail::lmdb_error(rc, "mdb_env_info"));
    MDB_stat st{};
    rc = mdb_env_stat(e, &st);
    if (rc != MDB_SUCCESS) return tl::unexpected(detail::lmdb_error(rc, "mdb_env_stat"));
    return fill{(std::uint64_t{info.me_last_pgno} + 1) * st.ms_psize, info.me_mapsize};
}

/// current_fill with the gate held shared: mdb_env_info reads the meta pages inside the map,
/// which mdb_env_set_mapsize unmaps and maps again (a concurrent read there is a SIGSEGV).
result<fill> shared_fill(MDB_env* e, detail::gate_mutex& gate) {
    const detail::gate_lock held(gate);
    return current_fill(e);
}

/// Time to grow: less than a fifth of the map, or less than 1 MiB, is left (a decision's
/// transaction copies a few pages per database it touches, which in a small map can be more
/// than a fifth), or a write already met MDB_MAP_FULL.
bool due(const fill& f, bool map_full_seen) {
    const std::uint64_t headroom = std::max<std::uint64_t>(f.map / 5, std::uint64_t{1} << 20);
    return map_full_seen || f.used + headroom > f.map;
}

}  // namespace

result<void> store::impl::maybe_grow() {
    const std::uint64_t max = std::max<std::uint64_t>(options.max_size_bytes,
                                                      options.map_size_bytes);
    PURSER_TRY(f, shared_fill(env.get(), gate));
    if (f.map >= max) return {};
    if (!due(f, map_full_seen.load())) return {};
    // No transaction of this process may be active while the size changes (LMDB's rule);
    // other processes are unaffected and adopt the size through MDB_MAP_RESIZED.
    std::unique_lock<detail::gate_mutex> all(gate, std::defer_lock);
    if (!all.try_lock_for(detail::gate_wait)) return {};
    PURSER_TRY(now, current_fill(env.get()));  // another thread may have grown it meanwhile
    if (now.map >= max || !due(now, map_full_seen.load())) return {};
    const std::uint64_t grown = std::min(max, now.map * 2);
    const int rc = mdb_env_set_mapsize(env.get(), static_cast<std::size_t>(grown));
    if (rc != MDB_SUCCESS) return tl::unexpected(detail::lmdb_error(rc, "mdb_env_set_mapsize"));
    map_full_seen.store(false);
    return {};
}

result<std::size_t> store::clear_stale_readers() { return impl_->check_readers(); }

result<store_stats> store::stats() const {
    PURSER_TRY(f, shared_fill(impl_->env.get(), impl_->gate));
    store_stats out;
    out.used_bytes = f.used;
    out.map_bytes = f.map;
    out.max_bytes = std::max<std::uint64_t>(
        {f.map, impl_->options.max_size_bytes, impl_->options.map_size_bytes});
    // Pages on LMDB's free list (its database 0: each record is a count then that many page
    // numbers) are reused before the file grows, so they are room, not fill.
    {
        PURSER_TRY(t, impl_->begin_read());
        PURSER_TRY(c, detail::cursor::open(t, MDB_dbi{0}));
        PURSER_TRY(e, c.first());
        std::uint64_t free_pages = 0;
        for (auto cur = e; cur;) {
            if (cur->value.size() >= sizeof(std::size_t)) {
                std::size_t n = 0;
                std::memcpy(&n, cur->value.data(), sizeof n);
                free_pages += n;
            }
            PURSER_TRY(next, c.next());
            cur = next;
        }
        MDB_stat st{};
        if (const int rc = mdb_env_stat(impl_->env.get(), &st); rc != MDB_SUCCESS)
            return tl::unexpected(detail::lmdb_error(rc, "mdb_env_stat"));
        out.free_bytes = std::min<std::uint64_t>(free_pages * st.ms_psize, out.used_bytes);
    }
    out.stale_readers_cleared = impl_->readers_cleared.load();
    out.rows_visited = impl_->rows_visited.load();
    out.rate_entries_visited = impl_->rate_entries_visited.load();
    out.write_batches = impl_->group.batches();
    out.batched_operations = impl_->group.operations();
    out.lingered_batches = impl_->group.lingered();
    return out;
}

}  // namespace purser::store
