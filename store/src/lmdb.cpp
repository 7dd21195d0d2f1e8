#include "purser/store/lmdb.hpp"

#include "purser/store/errc.hpp"

namespace purser::store::detail {

error lmdb_error(int rc, std::string_view call) {
    std::string detail(call);
    detail += ": ";
    detail += mdb_strerror(rc);
    return error{make_error_code(rc == MDB_MAP_FULL ? errc::map_full : errc::lmdb_failed),
                 std::move(detail)};
}

result<env> open_env(const std::filesystem::path& dir, const env_options& options) {
    MDB_env* raw = nullptr;
    int rc = mdb_env_create(&raw);
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_env_create"));
    env e(raw);
    if (options.max_dbs != 0 && (rc = mdb_env_set_maxdbs(raw, options.max_dbs)) != MDB_SUCCESS) {
        return tl::unexpected(lmdb_error(rc, "mdb_env_set_maxdbs"));
    }
    if ((rc = mdb_env_set_mapsize(raw, options.map_size_bytes)) != MDB_SUCCESS) {
        return tl::unexpected(lmdb_error(rc, "mdb_env_set_mapsize"));
    }
    if ((rc = mdb_env_set_maxreaders(raw, options.max_readers)) != MDB_SUCCESS) {
        return tl::unexpected(lmdb_error(rc, "mdb_env_set_maxreaders"));
    }
    if ((rc = mdb_env_open(raw, dir.c_str(), MDB_NOTLS | MDB_NOMETASYNC, 0600)) != MDB_SUCCESS) {
        return tl::unexpected(lmdb_error(rc, "mdb_env_open " + dir.string()));
    }
    return e;
}

result<std::optional<std::string_view>> txn_base::get(MDB_dbi dbi, std::string_view key) const {
    MDB_val k = to_val(key);
    MDB_val v{};
    const int rc = mdb_get(txn_, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string_view>{};
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_get"));
    return std::optional<std::string_view>{from_val(v)};
}

result<MDB_txn*> txn_base::begin(MDB_env* e, unsigned flags, gate_lock& gate) {
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(e, nullptr, flags, &t);
    if (rc == MDB_MAP_RESIZED) {
        // Another process grew the map past ours. Adopting its size needs every transaction of
        // this process ended, so trade the shared gate for the exclusive one meanwhile.
        gate_mutex& m = *gate.mutex();
        gate.unlock();
        {
            std::unique_lock<gate_mutex> all(m, std::defer_lock);
            if (!all.try_lock_for(gate_wait)) {
                return purser::fail(errc::lmdb_failed,
                                    "mdb_txn_begin: map grown by another process; this one's "
                                    "transactions did not end in time to adopt it");
            }
            rc = mdb_env_set_mapsize(e, 0);
        }
        gate.lock();
        if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_env_set_mapsize"));
        rc = mdb_txn_begin(e, nullptr, flags, &t);
    }
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_txn_begin"));
    return t;
}

result<read_txn> read_txn::begin(MDB_env* e, gate_mutex& gate) {
    gate_lock held(gate);
    PURSER_TRY(t, txn_base::begin(e, MDB_RDONLY, held));
    read_txn r;
    r.gate_ = std::move(held);
    r.txn_ = t;
    return r;
}

result<write_txn> write_txn::begin(MDB_env* e, gate_mutex& gate, std::atomic<bool>* full) {
    gate_lock held(gate);
    PURSER_TRY(t, txn_base::begin(e, 0, held));
    write_txn w;
    w.gate_ = std::move(held);
    w.txn_ = t;
    w.full_ = full;
    return w;
}

result<write_txn> write_txn::begin_nested(write_txn& parent) {
    MDB_txn* t = nullptr;
    const int rc = mdb_txn_begin(mdb_txn_env(parent.txn_), parent.txn_, 0, &t);
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_txn_begin (nested)"));
    write_txn w;
    w.txn_ = t;
    w.full_ = parent.full_;
    w.nested_ = true;
    return w;
}

result<void> write_txn::put(MDB_dbi dbi, std::string_view key, std::string_view value,
                            bool append) {
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    int rc = mdb_put(txn_, dbi, &k, &v, append ? MDB_APPEND : 0);
    // Not after the last key after all (a clock stepped back): an ordinary insert.
    if (append && rc == MDB_KEYEXIST) rc = mdb_put(txn_, dbi, &k, &v, 0);
    note(rc);
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_put"));
    return {};
}

result<bool> write_txn::del(MDB_dbi dbi, std::string_view key) {
    MDB_val k = to_val(key);
    const int rc = mdb_del(txn_, dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_del"));
    return true;
}

result<void> write_txn::clear(MDB_dbi dbi) {
    const int rc = mdb_drop(txn_, dbi, 0);
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_drop"));
    return {};
}

result<MDB_dbi> open_db(write_txn& t, const char* name) {
    MDB_dbi dbi = 0;
    const int rc = mdb_dbi_open(t.handle(), name, name != nullptr ? MDB_CREATE : 0, &dbi);
    if (rc != MDB_SUCCESS) {
        return tl::unexpected(lmdb_error(rc, std::string("mdb_dbi_open ") + (name ? name : "(unnamed)")));
    }
    return dbi;
}

result<void> sync_env(MDB_env* e) {
    const int rc = mdb_env_sync(e, 1);
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_env_sync"));
    return {};
}

result<commit_sync> write_txn::commit_leaving_meta_sync() {
    MDB_txn* t = txn_;
    txn_ = nullptr;  // mdb_txn_commit frees the transaction even when it fails.
    MDB_env* e = mdb_txn_env(t);
    const std::size_t id = mdb_txn_id(t);
    const int rc = mdb_txn_commit(t);
    note(rc);
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_txn_commit"));
    if (nested_) return commit_sync::unchanged;  // folded into the parent, which decides
    // LMDB returns early, writing nothing, from a transaction that changed nothing: then the
    // last committed id stays below this one's.
    // When in doubt, say the meta page is unsynced: the cost is one flush more.
    MDB_envinfo info{};
    if (mdb_env_info(e, &info) != MDB_SUCCESS) return commit_sync::meta_unsynced;
    if (info.me_last_txnid < id) return commit_sync::unchanged;
    unsigned flags = 0;
    if (mdb_env_get_flags(e, &flags) != MDB_SUCCESS) return commit_sync::meta_unsynced;
    return (flags & (MDB_NOMETASYNC | MDB_NOSYNC)) != 0 ? commit_sync::meta_unsynced : commit_sync::durable;
}

result<void> write_txn::commit() {
    MDB_env* e = mdb_txn_env(txn_);
    PURSER_TRY(state, commit_leaving_meta_sync());
    if (state == commit_sync::meta_unsynced) return sync_env(e);
    return {};
}

result<cursor> cursor::open(const txn_base& t, MDB_dbi dbi) {
    MDB_cursor* c = nullptr;
    const int rc = mdb_cursor_open(t.handle(), dbi, &c);
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_cursor_open"));
    return cursor(c);
}

result<std::optional<cursor::entry>> cursor::step(MDB_cursor_op op, std::string_view key) {
    MDB_val k = to_val(key);
    MDB_val v{};
    const int rc = mdb_cursor_get(cur_, &k, &v, op);
    if (rc == MDB_NOTFOUND) return std::optional<entry>{};
    if (rc != MDB_SUCCESS) return tl::unexpected(lmdb_error(rc, "mdb_cursor_get"));
    return std::optional<entry>{entry{from_val(k), from_val(v)}};
}

result<std::optional<cursor::entry>> cursor::seek(std::string_view key) {
    return step(MDB_SET_RANGE, key);
}
result<std::optional<cursor::entry>> cursor::first() { return step(MDB_FIRST); }
result<std::optional<cursor::entry>> cursor::last() { return step(MDB_LAST); }
result<std::optional<cursor::entry>> cursor::next() { return step(MDB_NEXT); }
result<std::optional<cursor::entry>> cursor::prev() { return step(MDB_PREV); }

}  // namespace purser::store::detail
