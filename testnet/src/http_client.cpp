// Blocking HTTP(S) client: a connection per call, or a kept-alive one from a pool; deadlines
// through beast::tcp_stream for the connect and socket timeouts after it.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

#include "purser/protocol/url.hpp"
#include "purser/testnet/errc.hpp"
#include "purser/testnet/http.hpp"

namespace purser::testnet {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

std::string http_reply::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
}

namespace {

/// The URL through the protocol's one parser, so the testnet connects where the proxy and the
/// policies would say a URL points (userinfo refused, numeric hosts canonical or refused).
result<protocol::url> parse_url(std::string_view url) {
    auto u = protocol::parse_url(url);
    if (!u) return fail(errc::invalid_request, u.error().detail);
    return u;
}

/// Writes one request and reads its response. With `keep_alive` the request asks to keep the
/// connection, and `reusable` says whether the response allows it (it agreed and ended exactly
/// where its message ends).
template <class Stream>
result<http_reply> exchange(Stream& stream, const protocol::url& u, std::string_view method,
                            const http_call_options& o, bool keep_alive, bool& reusable) {
    reusable = false;
    http::request<http::string_body> req{http::string_to_verb(method), u.target, 11};
    req.set(http::field::host, u.authority());
    req.set(http::field::user_agent, "purser-testnet");
    for (auto& [k, v] : o.headers) req.set(k, v);
    req.body() = o.body;
    req.keep_alive(keep_alive);
    req.prepare_payload();
    beast::error_code ec;
    http::write(stream, req, ec);
    if (ec) return fail(errc::unavailable, "write: " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(16 * 1024 * 1024);
    http::read(stream, buffer, parser, ec);
    if (ec) return fail(errc::unavailable, "read: " + ec.message());
    auto& res = parser.get();
    reusable = keep_alive && res.keep_alive() && !parser.need_eof() && buffer.size() == 0;
    http_reply out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    for (const auto& f : res) {
        std::string name(f.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.headers[name] = std::string(f.value());
    }
    return out;
}

}  // namespace

struct http_connection_pool::connection {
    net::io_context ioc;
    tcp::socket socket{ioc};
    unsigned timeout_seconds = 0;  ///< the socket timeouts set on it

    void set_timeouts(unsigned seconds) {
        if (seconds == timeout_seconds) return;
        timeval tv{static_cast<long>(seconds), 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        timeout_seconds = seconds;
    }
};

namespace {

using connection = http_connection_pool::connection;

/// A new TCP connection to `u`, the connect bounded by the timeout, blocking I/O after it
/// bounded by socket-level timeouts.
result<std::unique_ptr<connection>> connect(const protocol::url& u, unsigned timeout_seconds) {
    auto c = std::make_unique<connection>();
    tcp::resolver resolver(c->ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(u.host, std::to_string(u.port), ec);
    if (ec) return fail(errc::unavailable, "resolve " + u.host + ": " + ec.message());
    beast::tcp_stream tcp_stream(c->ioc);
    tcp_stream.expires_after(std::chrono::seconds(timeout_seconds));
    // The deadline only applies to async operations, so connect async on this thread.
    tcp_stream.async_connect(endpoints, [&](beast::error_code cec, const tcp::endpoint&) { ec = cec; });
    c->ioc.run();
    c->ioc.restart();
    if (ec) return fail(errc::unavailable, "connect " + u.authority() + ": " + ec.message());
    tcp_stream.expires_never();
    c->socket = tcp_stream.release_socket();
    c->set_timeouts(timeout_seconds);
    return c;
}

/// Whether an idle connection may carry another request: open, and nothing unasked arrived on
/// it (a peer's close, or bytes that belong to no request).
bool still_idle(tcp::socket& s) {
    char byte = 0;
    const auto n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct http_connection_pool::impl {
    std::size_t max_idle = 0;
    mutable std::mutex mutex;
    std::multimap<std::string, std::unique_ptr<connection>> idle;
};

http_connection_pool::http_connection_pool(std::size_t max_idle) : impl_(std::make_unique<impl>()) {
    impl_->max_idle = max_idle;
}

http_connection_pool::~http_connection_pool() = default;

std::size_t http_connection_pool::idle() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->idle.size();
}

std::unique_ptr<connection> http_connection_pool::take(const std::string& authority) {
    for (;;) {
        std::unique_ptr<connection> c;
        {
            const std::lock_guard lock(impl_->mutex);
            auto it = impl_->idle.find(authority);
            if (it == impl_->idle.end()) return nullptr;
            c = std::move(it->second);
            impl_->idle.erase(it);
        }
        if (still_idle(c->socket)) return c;
        // Closed by the peer meanwhile: dropped here (outside the lock), try the next one.
    }
}

void http_connection_pool::give_back(const std::string& authority, std::unique_ptr<connection> c) {
    const std::lock_guard lock(impl_->mutex);
    if (impl_->idle.size() >= impl_->max_idle) return;  // closed as `c` goes
    impl_->idle.emplace(authority, std::move(c));
}

result<http_reply> http_call(std::string_view method, std::string_view url,
                             const http_call_options& options) {
    auto parsed = parse_url(url);
    if (!parsed) return tl::unexpected(parsed.error());
    const auto& u = *parsed;
    const bool pooled = options.pool != nullptr && !u.tls();
    std::unique_ptr<connection> c = pooled ? options.pool->take(u.authority()) : nullptr;
    if (c) {
        c->set_timeouts(options.timeout_seconds);
    } else {
        PURSER_TRY(fresh, connect(u, options.timeout_seconds));
        c = std::move(fresh);
    }
    if (!u.tls()) {
        bool reusable = false;
        auto reply = exchange(c->socket, u, method, options, pooled, reusable);
        if (reply && reusable) options.pool->give_back(u.authority(), std::move(c));
        return reply;
    }

    beast::error_code ec;
    ssl::context ctx(ssl::context::tls_client);
    if (options.ca_file) {
        ctx.load_verify_file(options.ca_file->string(), ec);
        if (ec) return fail(errc::unavailable, "CA file: " + ec.message());
    } else {
        ctx.set_default_verify_paths(ec);
    }
    ssl::stream<tcp::socket&> stream(c->socket, ctx);
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(u.host));
    // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
    if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(u.host.c_str())) != 1) {
        return fail(errc::unavailable, "SNI");
    }
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return fail(errc::unavailable, "TLS handshake: " + ec.message());
    bool reusable = false;
    auto r = exchange(stream, u, method, options, false, reusable);
    stream.shutdown(ec);
    return r;
}

}  // namespace purser::testnet
