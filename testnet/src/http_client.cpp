// Blocking HTTP(S) client: one connection per call, deadlines through beast::tcp_stream.
#include <algorithm>
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

template <class Stream>
result<http_reply> exchange(Stream& stream, const protocol::url& u, std::string_view method,
                            const http_call_options& o) {
    http::request<http::string_body> req{http::string_to_verb(method), u.target, 11};
    req.set(http::field::host, u.authority());
    req.set(http::field::user_agent, "purser-testnet");
    for (auto& [k, v] : o.headers) req.set(k, v);
    req.body() = o.body;
    req.keep_alive(false);
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

result<http_reply> http_call(std::string_view method, std::string_view url,
                             const http_call_options& options) {
    auto parsed = parse_url(url);
    if (!parsed) return tl::unexpected(parsed.error());
    const auto& u = *parsed;
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(u.host, std::to_string(u.port), ec);
    if (ec) return fail(errc::unavailable, "resolve " + u.host + ": " + ec.message());
    beast::tcp_stream tcp_stream(ioc);
    tcp_stream.expires_after(std::chrono::seconds(options.timeout_seconds));
    // The deadline only applies to async operations, so run everything async on this thread.
    result<http_reply> out = fail(errc::unavailable, "no reply");
    tcp_stream.async_connect(endpoints, [&](beast::error_code cec, const tcp::endpoint&) { ec = cec; });
    ioc.run();
    ioc.restart();
    if (ec) return fail(errc::unavailable, "connect " + u.authority() + ": " + ec.message());
    tcp_stream.expires_never();
    // Blocking I/O from here; a socket-level timeout bounds it.
    timeval tv{static_cast<long>(options.timeout_seconds), 0};
    ::setsockopt(tcp_stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(tcp_stream.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!u.tls()) return exchange(tcp_stream.socket(), u, method, options);

    ssl::context ctx(ssl::context::tls_client);
    if (options.ca_file) {
        ctx.load_verify_file(options.ca_file->string(), ec);
        if (ec) return fail(errc::unavailable, "CA file: " + ec.message());
    } else {
        ctx.set_default_verify_paths(ec);
    }
    ssl::stream<tcp::socket&> stream(tcp_stream.socket(), ctx);
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(u.host));
    // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
    if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(u.host.c_str())) != 1) {
        return fail(errc::unavailable, "SNI");
    }
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return fail(errc::unavailable, "TLS handshake: " + ec.message());
    auto r = exchange(stream, u, method, options);
    stream.shutdown(ec);
    return r;
}

}  // namespace purser::testnet
