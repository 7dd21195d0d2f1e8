#include "session.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <openssl/rand.h>

#include "purser/store/errc.hpp"

namespace purser::store::detail {
namespace {

std::filesystem::path sessions_dir(const std::filesystem::path& store_dir) {
    return store_dir / "sessions";
}

std::string file_name(std::uint64_t id, const char* ext) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%s", static_cast<unsigned long long>(id), ext);
    return buf;
}

error io_error(const std::string& what) {
    return error{make_error_code(errc::io_failed), what + ": " + std::strerror(errno)};
}

}  // namespace

result<session_lock> session_lock::acquire(const std::filesystem::path& store_dir) {
    std::error_code ec;
    std::filesystem::create_directories(sessions_dir(store_dir), ec);
    if (ec) return fail(errc::io_failed, "create " + sessions_dir(store_dir).string() + ": " +
                                             ec.message());
    session_lock out;
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::uint64_t id = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) {
            return fail(errc::io_failed, "RAND_bytes failed");
        }
        if (id == 0) continue;
        // Lock under a temporary name, then rename: a *.lock file is always locked while its
        // owner lives, so a sweep never mistakes a starting session for an ended one.
        const auto tmp = sessions_dir(store_dir) / file_name(id, ".tmp");
        const auto final_path = sessions_dir(store_dir) / file_name(id, ".lock");
        const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            return tl::unexpected(io_error("open " + tmp.string()));
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
            auto e = io_error("lock " + tmp.string());
            ::unlink(tmp.c_str());
            ::close(fd);
            return tl::unexpected(std::move(e));
        }
        out.path_ = final_path;
        out.id_ = id;
        out.fd_ = fd;
        return out;
    }
    return fail(errc::io_failed, "could not create a session lock file");
}

session_lock::session_lock(session_lock&& o) noexcept
    : path_(std::move(o.path_)), id_(o.id_), fd_(o.fd_) {
    o.fd_ = -1;
}

session_lock::~session_lock() {
    if (fd_ >= 0) {
        ::unlink(path_.c_str());
        ::close(fd_);
    }
}

bool session_lock::alive(const std::filesystem::path& store_dir, std::uint64_t id) {
    const auto p = sessions_dir(store_dir) / file_name(id, ".lock");
    const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return true;  // EWOULDBLOCK: the owner holds it.
    }
    ::unlink(p.c_str());
    ::close(fd);
    return false;
}

void session_lock::sweep(const std::filesystem::path& store_dir, std::uint64_t own_id) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(sessions_dir(store_dir), ec)) {
        const auto name = entry.path().filename().string();
        if (name.size() != 21 || entry.path().extension() != ".lock") continue;
        const auto id = std::strtoull(name.substr(0, 16).c_str(), nullptr, 16);
        if (id == own_id) continue;
        (void)alive(store_dir, id);
    }
}

}  // namespace purser::store::detail
