// A small blocking HTTP/1.1 server and client (Beast underneath, kept out of this header) for the
// testnet's JSON-RPC, facilitator and merchants, and for tests that talk to them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "purser/protocol/result.hpp"

namespace purser::testnet {

struct http_request {
    std::string method;                          ///< "GET", "POST", ...
    std::string target;                          ///< "/weather?x=1"
    std::map<std::string, std::string> headers;  ///< Names lowercased.
    std::string body;
    bool tls = false;                            ///< Arrived over HTTPS.
    /// Requested when the server stops, so a handler that waits on purpose (a stalling test
    /// merchant) can give up instead of holding stop() hostage.
    std::stop_token stop;
    [[nodiscard]] std::string header(const std::string& lower_name) const;
    [[nodiscard]] std::string path() const;      ///< target without the query.
};

/// Writes one chunk of a streamed body; returns false once the peer is gone.
using chunk_writer = std::function<bool(std::string_view)>;

struct http_response {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// When set, the body is sent chunked by this callback instead of `body`.
    std::function<void(const chunk_writer&)> stream;
    /// When set, nothing is written: the server closes the connection (no TLS close_notify
    /// either), as a merchant that crashed mid-request would. For hostile-merchant tests.
    bool drop_connection = false;
};

using http_handler = std::function<http_response(const http_request&)>;

/// A PEM certificate chain and key for an HTTPS listener.
struct tls_identity {
    std::string cert_pem;
    std::string key_pem;
};

/// Listens on 127.0.0.1:`port` (0 = a free port), keep-alive, one thread per open connection
/// (threads are reused from one connection to the next).
class http_server {
public:
    /// Errors: unavailable (bind/listen failed, bad TLS identity).
    [[nodiscard]] static result<std::unique_ptr<http_server>> start(
        std::uint16_t port, http_handler handler, std::optional<tls_identity> tls = std::nullopt);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    [[nodiscard]] std::uint16_t port() const;
    /// "http://127.0.0.1:PORT" or "https://localhost:PORT".
    [[nodiscard]] std::string base_url() const;
    /// Stops accepting, ends open connections, joins every thread. Idempotent.
    void stop();

    struct impl;

private:
    explicit http_server(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

struct http_reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  ///< Names lowercased.
    std::string body;
    [[nodiscard]] std::string header(const std::string& lower_name) const;
};

struct http_call_options {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::optional<std::filesystem::path> ca_file;  ///< Trust anchor for https:// URLs.
    unsigned timeout_seconds = 30;
};

/// One request over a fresh connection. `url` is http://host:port/path or https://...
/// Errors: invalid_request (bad URL), unavailable (connect, TLS, read, write, timeout).
[[nodiscard]] result<http_reply> http_call(std::string_view method, std::string_view url,
                                           const http_call_options& options = {});

}  // namespace purser::testnet
