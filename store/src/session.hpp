// Which process owns a reservation. Each open store holds an exclusive flock on
// sessions/<id>.lock for its lifetime; a reservation records its session id, so recovery can tell
// a crashed owner (lock free or file gone) from a live one (lock held) without trusting pids.
#pragma once

#include <cstdint>
#include <filesystem>

#include "purser/protocol/result.hpp"

namespace purser::store::detail {

class session_lock {
public:
    /// Creates sessions/<random id>.lock under `store_dir`, locked. Errors: io_failed.
    [[nodiscard]] static result<session_lock> acquire(const std::filesystem::path& store_dir);
    session_lock(session_lock&& o) noexcept;
    session_lock& operator=(session_lock&&) = delete;
    session_lock(const session_lock&) = delete;
    session_lock& operator=(const session_lock&) = delete;
    /// Unlinks the file and releases the lock.
    ~session_lock();

    [[nodiscard]] std::uint64_t id() const { return id_; }

    /// True when session `id` still runs (its lock is held by someone else). A session whose
    /// file is missing or whose lock can be taken has ended; its file is removed.
    [[nodiscard]] static bool alive(const std::filesystem::path& store_dir, std::uint64_t id);

    /// Removes lock files of ended sessions (crashed processes).
    static void sweep(const std::filesystem::path& store_dir, std::uint64_t own_id);

private:
    session_lock() = default;
    std::filesystem::path path_;
    std::uint64_t id_ = 0;
    int fd_ = -1;
};

}  // namespace purser::store::detail
