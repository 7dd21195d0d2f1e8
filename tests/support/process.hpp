// Child processes for end-to-end tests: spawn the real purser binary, curl, python and node,
// read their output, and always clean up.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace purser::test {

using env_map = std::map<std::string, std::string>;

struct run_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs argv to completion with the current environment plus `env`; stdin is /dev/null.
run_result run(const std::vector<std::string>& argv, const env_map& env = {},
               std::chrono::seconds timeout = std::chrono::seconds(120));

/// A long-running child (a server). Its stdout and stderr are captured to files in `log_dir`;
/// it is sent SIGTERM (then SIGKILL) when the object is destroyed.
class process {
public:
    process(const std::vector<std::string>& argv, const env_map& env,
            const std::filesystem::path& log_dir, const std::string& name);
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    /// Waits until a line of stdout+stderr matches `pattern`; returns the match (group 1 when
    /// present, else the whole line). Throws with the captured output on timeout or exit.
    std::string wait_for(const std::regex& pattern,
                         std::chrono::seconds timeout = std::chrono::seconds(60));

    /// Sends `sig` and waits for the exit status (exit code, or 128+signal; -2 on timeout).
    int signal_and_wait(int sig, std::chrono::seconds timeout = std::chrono::seconds(30));
    /// Waits for the process to exit by itself: its status, or -2 on timeout.
    int wait_exit(std::chrono::seconds timeout = std::chrono::seconds(60));
    /// True while the process has not exited.
    bool running();

    [[nodiscard]] int pid() const { return pid_; }
    [[nodiscard]] std::string output() const;

private:
    int pid_ = -1;
    bool reaped_ = false;
    int exit_status_ = -1;
    std::filesystem::path out_path_;
};

/// Reads KEY=VALUE lines (values optionally single- or double-quoted; `export ` allowed).
env_map read_env_file(const std::filesystem::path& path);

/// The HTTP response curl printed with -i (all header blocks, then the body).
struct http_reply {
    int exit_code = -1;
    unsigned status = 0;                              ///< Status of the last response.
    std::multimap<std::string, std::string> headers;  ///< Last response; names lowercased.
    std::string body;
    std::string raw;

    [[nodiscard]] std::optional<std::string> header(const std::string& lower_name) const;
};

/// Runs curl with `args` (plus -sS -i and a bounded --max-time) and parses its output.
http_reply curl(const std::vector<std::string>& args, const env_map& env = {});

/// Lines of `text` that start with `prefix`.
std::size_t count_lines(const std::string& text, const std::string& prefix);

/// The absolute path of a program on PATH, or empty.
std::string which(const std::string& program);

}  // namespace purser::test
