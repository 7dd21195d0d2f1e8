// `--detach` for the long-running commands (`proxy`, `testnet up`): the process forks, and the
// parent returns only when the child says it is ready (or has failed), so a script can go on
// with `purser testnet up --detach && source .../testnet.env` without polling for a file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace purser::cli {

/// The child's side: one line to the waiting parent. Without --detach it does nothing.
class readiness {
public:
    readiness() = default;
    explicit readiness(int fd) : fd_(fd) {}
    readiness(const readiness&) = delete;
    readiness& operator=(const readiness&) = delete;
    readiness(readiness&& other) = delete;
    /// Takes `other`'s pipe end (the child adopts it once, right after the fork).
    readiness& operator=(readiness&& other) noexcept;
    ~readiness();

    /// Tells the parent the command is serving; the parent prints `message` and exits 0.
    /// Later calls do nothing.
    void ready(const std::string& message);

private:
    int fd_ = -1;
};

/// Forks into the background. Must run before any thread starts. In the parent it waits for the
/// child's ready() and returns the exit code for the parent to exit with: 0 once ready, or 1
/// after printing the end of `log_file` when the child exited first. In the child it returns
/// nullopt: the child is in a new session, stdin is /dev/null, stdout and stderr append to
/// `log_file` (created 0600), and `signal` is its end of the pipe.
[[nodiscard]] std::optional<int> detach(const std::filesystem::path& log_file, readiness& signal);

}  // namespace purser::cli
