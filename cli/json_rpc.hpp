// A small synchronous JSON-RPC 2.0 client over HTTP(S) POST, for `purser wallet balance|fund`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "purser/protocol/result.hpp"

namespace purser::cli {

/// Where an RPC URL points: http or https, host, port and request target.
struct rpc_endpoint {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target = "/";
};

/// Parses "http://host[:port][/path]" or "https://...". IPv6 literals go in brackets.
/// Errors: protocol invalid_value naming the problem.
[[nodiscard]] result<rpc_endpoint> parse_rpc_url(std::string_view url);

/// One connection per call (RPC calls from the CLI are rare), each bounded by `timeout`.
class json_rpc_client {
public:
    explicit json_rpc_client(rpc_endpoint endpoint,
                             std::chrono::milliseconds timeout = std::chrono::seconds(15))
        : endpoint_(std::move(endpoint)), timeout_(timeout) {}

    /// Calls `method` with `params` and returns the `result` member.
    /// Errors: the network error (connect, TLS, timeout), protocol_error for a non-200 status,
    /// a malformed reply, or a JSON-RPC `error` object (its message and code in the detail).
    [[nodiscard]] result<nlohmann::json> call(std::string_view method, const nlohmann::json& params);

    [[nodiscard]] const rpc_endpoint& endpoint() const { return endpoint_; }

private:
    rpc_endpoint endpoint_;
    std::chrono::milliseconds timeout_;
    std::uint64_t next_id_ = 1;
};

}  // namespace purser::cli
