// A child process that crashes a store: the store tests fork one to write and SIGKILL it.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "purser/store/store.hpp"

namespace purser::test {

/// Forks a child running `child(fd)`, which reports to the pipe whose read end `read_fd`
/// receives, and never returns. Returns the child's pid.
template <typename Child>
pid_t fork_reporting(Child&& child, int& read_fd) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        child(fds[1]);
        ::_exit(0);
    }
    ::close(fds[1]);
    read_fd = fds[0];
    return pid;
}

/// A store at `path` with the agent "victim", and a child process running `child(path, fd)`
/// that reports to the pipe whose read end `read_fd` receives. Returns the child's pid.
inline pid_t start_crasher(const std::filesystem::path& path,
                           void (*child)(const std::filesystem::path&, int), int& read_fd) {
    {
        auto s = store::store::open(path);
        REQUIRE(s);
        REQUIRE((*s)->add_agent("victim", {}));
    }
    return fork_reporting([&](int fd) { child(path, fd); }, read_fd);
}

}  // namespace purser::test
