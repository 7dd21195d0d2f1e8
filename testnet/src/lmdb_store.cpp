#include "lmdb_store.hpp"

#include <string>

#include "purser/testnet/errc.hpp"

namespace purser::testnet::detail {
namespace {

tl::unexpected<error> lmdb_fail(const char* what, int rc) {
    return fail(errc::storage, std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val val(std::string_view s) {
    return MDB_val{s.size(), const_cast<char*>(s.data())};  // NOLINT: LMDB's C API is not const
}

}  // namespace

result<lmdb_env> lmdb_env::open(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(errc::storage, "create " + dir.string() + ": " + ec.message());
    lmdb_env out;
    int rc = mdb_env_create(&out.env_);
    if (rc != 0) return lmdb_fail("mdb_env_create", rc);
    // 1 GiB of address space is plenty for a test chain and costs nothing until used.
    rc = mdb_env_set_mapsize(out.env_, std::size_t{1} << 30);
    if (rc != 0) return lmdb_fail("mdb_env_set_mapsize", rc);
    // NOTLS: read transactions are opened from server threads that are not their owners.
    // NOMETASYNC: a commit flushes its data but not the meta page that points at it, so a
    // transaction costs one device flush instead of two. A crash of the testnet process loses
    // nothing; a crash of the whole machine may undo the last transactions (never corrupt the
    // file), as a simulated chain may drop its last blocks. The chain commits under one lock, so
    // its flushes are what caps settlements per second.
    rc = mdb_env_open(out.env_, dir.c_str(), MDB_NOTLS | MDB_NOMETASYNC, 0600);
    if (rc != 0) return lmdb_fail("mdb_env_open", rc);
    MDB_txn* txn = nullptr;
    rc = mdb_txn_begin(out.env_, nullptr, 0, &txn);
    if (rc != 0) return lmdb_fail("mdb_txn_begin", rc);
    rc = mdb_dbi_open(txn, nullptr, 0, &out.dbi_);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_fail("mdb_dbi_open", rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) return lmdb_fail("mdb_txn_commit", rc);
    return out;
}

lmdb_env::~lmdb_env() {
    if (env_ != nullptr) mdb_env_close(env_);
}

lmdb_txn::lmdb_txn(const lmdb_env& env, bool write) : dbi_(env.dbi()) {
    if (mdb_txn_begin(env.env(), nullptr, write ? 0U : MDB_RDONLY, &txn_) != 0) txn_ = nullptr;
}

lmdb_txn::~lmdb_txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
}

result<std::optional<std::string>> lmdb_txn::get(std::string_view key) const {
    if (txn_ == nullptr) return fail(errc::storage, "no transaction");
    MDB_val k = val(key);
    MDB_val v{};
    const int rc = mdb_get(txn_, dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>{};
    if (rc != 0) return lmdb_fail("mdb_get", rc);
    return std::optional<std::string>(std::string(static_cast<const char*>(v.mv_data), v.mv_size));
}

result<void> lmdb_txn::put(std::string_view key, std::string_view value) {
    if (txn_ == nullptr) return fail(errc::storage, "no transaction");
    MDB_val k = val(key);
    MDB_val v = val(value);
    const int rc = mdb_put(txn_, dbi_, &k, &v, 0);
    if (rc != 0) return lmdb_fail("mdb_put", rc);
    return {};
}

result<void> lmdb_txn::commit() {
    if (txn_ == nullptr) return fail(errc::storage, "no transaction");
    const int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    if (rc != 0) return lmdb_fail("mdb_txn_commit", rc);
    return {};
}

}  // namespace purser::testnet::detail
