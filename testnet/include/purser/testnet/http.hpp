// A small blocking HTTP/1.1 server and client (Beast underneath, kept out of this header) for the
// testnet's JSON-RPC, facilitator and merchants, and for tests that talk to them.
#pragma once

#include <cstddef>
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

class http_connection_pool;

struct http_call_options {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::optional<std::filesystem::path> ca_file;  ///< Trust anchor for https:// URLs.
    unsigned timeout_seconds = 30;
    /// When set, an http:// call reuses an idle keep-alive connection of this pool to the same
    /// host and port and leaves its own there afterwards (https:// calls always connect anew).
    http_connection_pool* pool = nullptr;
};

/// Idle keep-alive connections for http_call, by host and port: a merchant calls its
/// facilitator twice per payment, and a new connection each time (connect, accept, a server
/// thread woken, close) was a tenth of the testnet's CPU per paid request. A connection is
/// reused only while its peer has neither closed it nor sent anything unasked, and no call is
/// ever retried: a POST that fails on a reused connection fails as on a fresh one. Thread-safe.
class http_connection_pool {
public:
    explicit http_connection_pool(std::size_t max_idle = 32);
    ~http_connection_pool();
    http_connection_pool(const http_connection_pool&) = delete;
    http_connection_pool& operator=(const http_connection_pool&) = delete;

    /// Idle connections held now (tests read it).
    [[nodiscard]] std::size_t idle() const;

    struct connection;
    /// An idle connection to `authority` that is still open, or null.
    [[nodiscard]] std::unique_ptr<connection> take(const std::string& authority);
    /// Keeps `c` for the next call to `authority` (closed instead when max_idle are kept).
    void give_back(const std::string& authority, std::unique_ptr<connection> c);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// One request, over a fresh connection unless `options.pool` has one. `url` is
/// http://host:port/path or https://...
/// Errors: invalid_request (bad URL), unavailable (connect, TLS, read, write, timeout).
[[nodiscard]] result<http_reply> http_call(std::string_view method, std::string_view url,
                                           const http_call_options& options = {});

}  // namespace purser::testnet
