// A small synchronous JSON-RPC 2.0 client over HTTP(S) POST, for chain reads from the CLI
// (`wallet balance|fund`, `ledger reconcile`) and, next, the proxy's release-on-proof checks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "purser/protocol/result.hpp"

namespace purser::chain {

/// Where an RPC URL points: http or https, host, port and request target.
struct rpc_endpoint {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target = "/";
};

/// Parses "http://host[:port][/path]" or "https://...". IPv6 literals go in brackets.
/// Errors: protocol invalid_value naming the problem.
// Once protocol/url.hpp (URL parsing unified on another branch) is merged, this should use it.
[[nodiscard]] result<rpc_endpoint> parse_rpc_url(std::string_view url);

/// "http://host:port" for messages: the endpoint without its target, because hosted RPC URLs
/// often carry an API key in the path.
[[nodiscard]] std::string display_origin(const rpc_endpoint& endpoint);

/// One connection per call (chain reads are rare next to the proxy's traffic). Every call is
/// bounded by one deadline, `timeout` after it starts, that covers DNS, connect, TLS handshake,
/// write and read: an RPC that accepts and never answers costs at most `timeout`.
///
/// Thread-safe: call() may run on several threads at once; each call owns its own sockets and
/// io_context, and request ids come from an atomic counter.
class json_rpc_client {
public:
    static constexpr std::chrono::milliseconds default_timeout{std::chrono::seconds(10)};

    explicit json_rpc_client(rpc_endpoint endpoint,
                             std::chrono::milliseconds timeout = default_timeout)
        : endpoint_(std::move(endpoint)), timeout_(timeout) {}

    /// Calls `method` with `params` and returns the `result` member.
    /// Errors: std::errc::timed_out ("RPC http://host:port did not answer within 10 s") when the
    /// deadline passes; the network error (resolve, connect, TLS); protocol_error for a non-200
    /// status or a JSON-RPC `error` object (its message and code in the detail); protocol
    /// invalid_json or missing_field for a malformed reply.
    [[nodiscard]] result<nlohmann::json> call(std::string_view method,
                                              const nlohmann::json& params) const;

    [[nodiscard]] const rpc_endpoint& endpoint() const { return endpoint_; }
    [[nodiscard]] std::chrono::milliseconds timeout() const { return timeout_; }

private:
    rpc_endpoint endpoint_;
    std::chrono::milliseconds timeout_;
    // mutable: ids are bookkeeping, not state a caller observes; call() stays const and
    // shareable between threads.
    mutable std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace purser::chain
