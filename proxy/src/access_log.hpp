// One JSON object per line, one line per request or tunnel. Thread-safe. Callers pass only
// redacted values: never credentials or payment headers. Request and tunnel lines come in
// batches from each worker (detail::log_line, io_worker::log); the server's own events, which are
// rare, as JSON documents.
#pragma once

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "purser/protocol/result.hpp"

namespace purser::proxy::detail {

class access_log {
public:
    access_log() = default;
    access_log(const access_log&) = delete;
    access_log& operator=(const access_log&) = delete;
    ~access_log();

    /// "-" writes to stderr, "stdout" to stdout; "off" (or "/dev/null") writes nothing, and no line is even
    /// formatted; anything else is a file opened for appending.
    /// Errors: config_file when the file cannot be opened.
    [[nodiscard]] result<void> open(const std::string& target);

    /// False when the log is off: callers skip building their line.
    [[nodiscard]] bool enabled() const { return enabled_.load(std::memory_order_relaxed); }

    void write(const nlohmann::json& line);
    /// Whole lines, each ending in '\n', written at once.
    void write_text(std::string_view lines);

    /// Switches to `target` ("-" = stderr, "stdout"), or reopens the same file after logrotate moved it.
    /// On failure the old file stays in use. Errors: config_file.
    [[nodiscard]] result<void> reopen(const std::string& target);

    /// The current UTC time as "2026-01-02T03:04:05.678Z".
    [[nodiscard]] static std::string now_iso8601();

private:
    std::mutex mutex_;
    std::atomic<bool> enabled_{false};
    std::FILE* out_ = nullptr;
    bool owned_ = false;
    std::string target_;
};

}  // namespace purser::proxy::detail
