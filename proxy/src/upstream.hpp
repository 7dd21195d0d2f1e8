// Connections to origins, and the pool of idle ones that the agent connections of one worker
// share.
//
// Each worker (see server_state.hpp) has its own pool, used only on that worker's thread, so the
// pool needs no lock and a pooled connection never changes threads: it was opened on the same
// io_context as every agent connection that may take it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asio.hpp"
#include "either_stream.hpp"

namespace purser::proxy {

/// One connection to an origin.
struct upstream {
    std::string key;  // "http://host:port" or "https://host:port"
    either_stream stream;
    beast::flat_buffer buffer;
    bool reused = false;
    /// The address it is connected to: where a paid retry that needs a new connection goes
    /// (the same origin server that asked for the payment), known without a system call.
    std::optional<tcp::endpoint> address;
    /// Its TLS session went to the worker's cache (once per connection: the later answers on
    /// a kept-alive connection would only copy the same session again).
    bool session_kept = false;
};

class upstream_pool {
public:
    struct limits {
        std::size_t per_origin = 32;          ///< Idle connections kept per origin.
        std::size_t total = 256;              ///< Idle connections kept in all (file descriptors).
        std::chrono::milliseconds max_age{};  ///< Idle longer than this: closed, not reused.
    };

    /// The most recently used idle connection to `key` that has idled less than `max_age`, or
    /// null. Older ones are closed.
    [[nodiscard]] std::unique_ptr<upstream> take(const std::string& key,
                                                 std::chrono::milliseconds max_age);
    /// Keeps `up` for reuse within `keep`, unless bytes are left unread on it; otherwise it is
    /// closed. Also closes connections anywhere in the pool that idled past keep.max_age.
    void give(std::unique_ptr<upstream> up, const limits& keep);
    /// Closes every idle connection to `key` (one was found closed: the rest are likely stale).
    void drop(const std::string& key);

private:
    struct entry {
        std::unique_ptr<upstream> up;
        std::chrono::steady_clock::time_point since;  // when it became idle
    };
    std::map<std::string, std::vector<entry>> idle_;  // per key, oldest first
    std::size_t total_ = 0;
};

}  // namespace purser::proxy
