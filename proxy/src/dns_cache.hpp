// A worker's recently resolved origin names. Resolving a name runs getaddrinfo on Asio's resolver
// thread and back, a thread hand-off on every new upstream connection, and a paid retry always
// opens a new one. Addresses are kept briefly (getaddrinfo tells no TTL; Envoy's default DNS
// refresh is 5 s too), so a busy origin costs one lookup per few seconds per worker, and a
// changed record is seen within that. An IP literal is never looked up at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "asio.hpp"

namespace purser::proxy::detail {

class dns_cache {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds ttl{5};
    /// Past this many names the cache starts over: a bound, not a policy.
    static constexpr std::size_t max_names = 1024;

    /// The addresses of host:port: the literal itself for an IP address, else what was
    /// remembered within ttl of `now`. nullopt when it must be resolved.
    [[nodiscard]] std::optional<std::vector<tcp::endpoint>> find(const std::string& host,
                                                                 std::uint16_t port,
                                                                 clock::time_point now);
    /// Remembers what a lookup of host:port answered at `now` (nothing for an empty answer).
    void remember(const std::string& host, std::uint16_t port, std::vector<tcp::endpoint> addresses,
                  clock::time_point now);

private:
    struct entry {
        std::vector<tcp::endpoint> addresses;
        clock::time_point until;
    };
    std::unordered_map<std::string, entry> names_;
};

}  // namespace purser::proxy::detail
