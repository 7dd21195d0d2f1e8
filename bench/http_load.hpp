// The benchmarks' load generator: client threads, each on its own connection, sending GETs back
// to back and timing each answer. Shared by the forwarding and the paid-path benchmarks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace purser::bench {

struct run_stats {
    double requests_per_second = 0;
    double p50_us = 0;
    double p99_us = 0;
    std::size_t requests = 0;
    std::size_t failures = 0;
};

struct load {
    std::uint16_t port = 0;          ///< Where the clients connect (origin or proxy).
    std::string target;              ///< Request target: a path, or an absolute URL for a proxy.
    unsigned clients = 1;
    unsigned per_client = 100;
    /// Every answer must have this status and, when set, this many body bytes; else a failure.
    unsigned expected_status = 200;
    std::optional<std::size_t> expected_bytes;
    bool reconnect = false;          ///< A new connection per request (curl without a session).
    std::string proxy_authorization; ///< Sent as Proxy-Authorization when not empty.
    /// A background load (an agent hammering its limit): every answer counts whatever its
    /// status, and clients stop early once `*stop` is true.
    bool any_status = false;
    const std::atomic<bool>* stop = nullptr;
};

/// Runs `l` and reports throughput and latency percentiles. A client stops at its first failure.
[[nodiscard]] run_stats drive(const load& l);

}  // namespace purser::bench
