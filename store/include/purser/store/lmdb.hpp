// Thin RAII over the LMDB C API: an environment, read and write transactions of different types,
// cursors. "Not found" is an ordinary value (nullopt); every other failure names the LMDB call.
// The project's one LMDB layer: the ledger uses it, and so does the testnet's simulated chain.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "purser/protocol/result.hpp"

namespace purser::store::detail {

/// Turns an LMDB return code into a store error: MDB_MAP_FULL becomes errc::map_full, the rest
/// errc::lmdb_failed with "<call>: <mdb_strerror>".
[[nodiscard]] error lmdb_error(int rc, std::string_view call);

[[nodiscard]] inline MDB_val to_val(std::string_view s) {
    return MDB_val{s.size(), const_cast<char*>(s.data())};  // LMDB never writes through it.
}
[[nodiscard]] inline std::string_view from_val(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

class env;

/// How to open an environment (open_env).
struct env_options {
    std::size_t map_size_bytes = std::size_t{1} << 30;
    unsigned max_dbs = 0;         ///< named databases; 0: only the unnamed one
    unsigned max_readers = 126;   ///< LMDB's default
};

/// Creates and opens the environment in `dir` (an existing directory; files mode 0600) with
/// MDB_NOTLS, because read transactions move between threads, and MDB_NOMETASYNC: a commit
/// flushes its data pages and leaves its meta page's flush to the caller (commit_sync), which
/// never costs integrity. Errors: lmdb_failed.
[[nodiscard]] result<env> open_env(const std::filesystem::path& dir, const env_options& options);

class env {
public:
    env() = default;
    explicit env(MDB_env* e) : env_(e) {}
    ~env() {
        if (env_ != nullptr) mdb_env_close(env_);
    }
    env(env&& o) noexcept : env_(o.env_) { o.env_ = nullptr; }
    env& operator=(env&&) = delete;
    env(const env&) = delete;
    env& operator=(const env&) = delete;
    [[nodiscard]] MDB_env* get() const { return env_; }

private:
    MDB_env* env_ = nullptr;
};

/// Every transaction of one environment holds its gate shared; changing the map size takes it
/// exclusively, because LMDB allows mdb_env_set_mapsize only while this process has no active
/// transaction.
using gate_mutex = std::shared_timed_mutex;
using gate_lock = std::shared_lock<gate_mutex>;
/// How long a map change waits for this process's transactions to end before giving up.
inline constexpr std::chrono::seconds gate_wait{2};

/// What both transaction types can do. Not used directly.
class txn_base {
public:
    txn_base(const txn_base&) = delete;
    txn_base& operator=(const txn_base&) = delete;
    ~txn_base() {
        if (txn_ != nullptr) mdb_txn_abort(txn_);
    }
    /// The value under `key`, valid until the transaction ends; nullopt when absent.
    [[nodiscard]] result<std::optional<std::string_view>> get(MDB_dbi dbi,
                                                              std::string_view key) const;
    [[nodiscard]] MDB_txn* handle() const { return txn_; }

protected:
    txn_base() = default;
    txn_base(txn_base&& o) noexcept : gate_(std::move(o.gate_)), txn_(o.txn_) { o.txn_ = nullptr; }
    /// Begins with `gate` held shared. On MDB_MAP_RESIZED (another process grew the map) it
    /// adopts the new size with the gate held exclusively, then begins again.
    [[nodiscard]] static result<MDB_txn*> begin(MDB_env* e, unsigned flags, gate_lock& gate);
    gate_lock gate_;  ///< Declared before txn_: released after the destructor ends the txn.
    MDB_txn* txn_ = nullptr;
};

/// A read-only snapshot. Aborts (releases the snapshot) when it goes out of scope.
class read_txn : public txn_base {
public:
    [[nodiscard]] static result<read_txn> begin(MDB_env* e, gate_mutex& gate);
    read_txn(read_txn&&) noexcept = default;

private:
    read_txn() = default;
};

/// Forces every write committed so far in `e` to disk (mdb_env_sync with force): after it, a
/// commit whose meta page was written unsynced (MDB_NOMETASYNC) survives a system crash too.
[[nodiscard]] result<void> sync_env(MDB_env* e);

/// What a top-level commit left to do before it survives a system crash.
enum class commit_sync {
    unchanged,      ///< nothing was written: nothing to lose
    durable,        ///< data and meta page flushed (an environment without MDB_NOMETASYNC)
    meta_unsynced,  ///< data pages flushed, meta page written but not flushed: the next flush of
                    ///< the file (the next commit's data flush, or sync_env) makes it durable; a
                    ///< system crash before that undoes this one transaction, never corrupts
};

/// The one write transaction of this thread. Aborts on scope exit unless commit() succeeded.
class write_txn : public txn_base {
public:
    /// `full` is set when a put or the commit meets MDB_MAP_FULL, so the store grows the map
    /// before its next write.
    [[nodiscard]] static result<write_txn> begin(MDB_env* e, gate_mutex& gate,
                                                 std::atomic<bool>* full = nullptr);
    /// A child of `parent` (LMDB nested transaction): its commit folds its changes into the
    /// parent, durable only when the parent commits; its abort undoes only its own changes, so
    /// one failed operation of a batch leaves the others' work in the parent. The parent may do
    /// nothing while the child lives, and must outlive it (it holds the gate for both).
    [[nodiscard]] static result<write_txn> begin_nested(write_txn& parent);
    write_txn(write_txn&& o) noexcept : txn_base(std::move(o)), full_(o.full_), nested_(o.nested_) {}

    /// `append`: the key is known to sort after every key of `dbi` (MDB_APPEND), so LMDB fills
    /// pages instead of splitting them in half. A key that does not (a clock stepped back) is
    /// inserted the ordinary way.
    [[nodiscard]] result<void> put(MDB_dbi dbi, std::string_view key, std::string_view value,
                                   bool append = false);
    /// Deletes `key`; returns false when it was absent.
    [[nodiscard]] result<bool> del(MDB_dbi dbi, std::string_view key);
    /// Deletes every key of `dbi` (the database itself stays).
    [[nodiscard]] result<void> clear(MDB_dbi dbi);
    /// Durable commit (for a child: into its parent); the transaction is finished either way.
    /// Errors: map_full, lmdb_failed.
    [[nodiscard]] result<void> commit();
    /// A top-level commit that may leave the meta page's flush to whoever flushes next
    /// (commit_sync::meta_unsynced): group commit lets the next batch's data flush carry it, so
    /// a batch costs one device flush instead of two. Errors as commit().
    [[nodiscard]] result<commit_sync> commit_leaving_meta_sync();

private:
    write_txn() = default;
    void note(int rc) {
        if (rc == MDB_MAP_FULL && full_ != nullptr) full_->store(true);
    }
    std::atomic<bool>* full_ = nullptr;
    bool nested_ = false;
};

/// Opens database `name` in `t`'s environment, creating it if absent; nullptr: the unnamed one
/// (needs no max_dbs). The handle stays valid for the environment's life once `t` commits.
[[nodiscard]] result<MDB_dbi> open_db(write_txn& t, const char* name);

/// A cursor inside a transaction; close it (let it go out of scope) before committing.
class cursor {
public:
    [[nodiscard]] static result<cursor> open(const txn_base& t, MDB_dbi dbi);
    cursor(cursor&& o) noexcept : cur_(o.cur_) { o.cur_ = nullptr; }
    cursor(const cursor&) = delete;
    cursor& operator=(const cursor&) = delete;
    ~cursor() {
        if (cur_ != nullptr) mdb_cursor_close(cur_);
    }

    struct entry {
        std::string_view key;
        std::string_view value;
    };
    /// Positions at the first key >= `key`.
    [[nodiscard]] result<std::optional<entry>> seek(std::string_view key);
    [[nodiscard]] result<std::optional<entry>> first();
    [[nodiscard]] result<std::optional<entry>> last();
    [[nodiscard]] result<std::optional<entry>> next();
    [[nodiscard]] result<std::optional<entry>> prev();

private:
    explicit cursor(MDB_cursor* c) : cur_(c) {}
    [[nodiscard]] result<std::optional<entry>> step(MDB_cursor_op op, std::string_view key = {});
    MDB_cursor* cur_ = nullptr;
};

}  // namespace purser::store::detail
