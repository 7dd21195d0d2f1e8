// Connections to origins, and the pool of idle ones that every agent connection shares.
//
// A pooled connection moves between agent connections, each running on its own strand. That is
// safe because exactly one owner uses it at a time (take and give hand it over under a mutex),
// and every operation an owner starts on it is bound to the owner's strand, so its completions,
// and Beast's timeout handling inside them, run there and not on the strand that opened it.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
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
};

class upstream_pool {
public:
    /// An idle connection to `key`, newest first, or null.
    [[nodiscard]] std::unique_ptr<upstream> take(const std::string& key);
    /// Keeps `up` for reuse unless its origin already has `keep_per_origin` idle connections or
    /// bytes are left unread on it (then it is closed).
    void give(std::unique_ptr<upstream> up, std::size_t keep_per_origin);
    /// Closes every idle connection to `key` (one was found closed: the rest are likely stale).
    void drop(const std::string& key);

private:
    std::mutex mutex_;
    std::map<std::string, std::vector<std::unique_ptr<upstream>>> idle_;
};

}  // namespace purser::proxy
