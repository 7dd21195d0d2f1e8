// A thin RAII layer over one LMDB environment with a single unnamed database (chain state).
#pragma once

#include <lmdb.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "purser/protocol/result.hpp"

namespace purser::testnet::detail {

class lmdb_env {
public:
    [[nodiscard]] static result<lmdb_env> open(const std::filesystem::path& dir);
    lmdb_env() = default;
    lmdb_env(lmdb_env&& o) noexcept : env_(o.env_), dbi_(o.dbi_) { o.env_ = nullptr; }
    lmdb_env& operator=(lmdb_env&& o) noexcept {
        std::swap(env_, o.env_);
        std::swap(dbi_, o.dbi_);
        return *this;
    }
    lmdb_env(const lmdb_env&) = delete;
    ~lmdb_env();

    [[nodiscard]] MDB_env* env() const { return env_; }
    [[nodiscard]] MDB_dbi dbi() const { return dbi_; }

private:
    MDB_env* env_ = nullptr;
    MDB_dbi dbi_ = 0;
};

/// A transaction; aborted on destruction unless committed. Not copyable or movable.
class lmdb_txn {
public:
    lmdb_txn(const lmdb_env& env, bool write);
    ~lmdb_txn();
    lmdb_txn(const lmdb_txn&) = delete;
    lmdb_txn& operator=(const lmdb_txn&) = delete;

    [[nodiscard]] bool ok() const { return txn_ != nullptr; }
    [[nodiscard]] result<std::optional<std::string>> get(std::string_view key) const;
    [[nodiscard]] result<void> put(std::string_view key, std::string_view value);
    [[nodiscard]] result<void> commit();

private:
    MDB_txn* txn_ = nullptr;
    MDB_dbi dbi_ = 0;
};

}  // namespace purser::testnet::detail
