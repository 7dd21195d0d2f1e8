#include "purser/chain/json_rpc.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <openssl/ssl.h>

#include "purser/protocol/errc.hpp"

namespace purser::chain {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::size_t max_reply_bytes = 1 << 20;

/// How long a polite TLS close may wait for the server's close_notify once the reply is in
/// hand: the answer is already complete, so a server that never answers the close must not cost
/// the caller the rest of its deadline.
constexpr std::chrono::milliseconds tls_close_grace{500};

std::error_code to_std(const beast::error_code& ec) { return ec; }

/// "10 s" or "300 ms", for the timeout message.
std::string describe(std::chrono::milliseconds t) {
    if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + " s";
    return std::to_string(t.count()) + " ms";
}

/// Blocking Beast/Asio calls ignore tcp_stream deadlines (only asynchronous operations are
/// timed), so each step is started asynchronously and run to completion here. The stream's
/// expiry (basic_stream::expires_at) closes the socket at the deadline, which guarantees that
/// every step completes: with beast::error::timeout when the peer stays silent.
template <class Start>
beast::error_code run_step(net::io_context& ioc, Start&& start) {
    beast::error_code result = net::error::would_block;
    std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
}

/// One DNS lookup shared between the caller and the thread that performs it.
struct lookup {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    beast::error_code ec;
    std::vector<tcp::endpoint> endpoints;
};

/// The addresses for `ep`, or std::errc::timed_out once `deadline` passes. An IP literal needs no
/// lookup. getaddrinfo cannot be canceled, and Asio's asynchronous resolver joins its lookup
/// thread when its io_context is destroyed (waiting for the very lookup given up on), so the
/// lookup runs on a detached thread that owns its half of the state; a late answer is dropped.
result<std::vector<tcp::endpoint>> resolve(const rpc_endpoint& ep, steady::time_point deadline) {
    unsigned short port = 0;
    const auto* last = ep.port.data() + ep.port.size();
    if (auto [end, perr] = std::from_chars(ep.port.data(), last, port); perr != std::errc{} || end != last) {
        return fail(protocol::errc::invalid_value, "RPC URL has a bad port");
    }
    beast::error_code ec;
    const auto literal = net::ip::make_address(ep.host, ec);
    if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(literal, port)};

    auto state = std::make_shared<lookup>();
    try {
        std::thread([state, host = ep.host, service = ep.port] {
            net::io_context ioc;
            tcp::resolver resolver(ioc);
            beast::error_code rec;
            const auto found = resolver.resolve(host, service, rec);
            std::vector<tcp::endpoint> endpoints;
            for (const auto& entry : found) endpoints.push_back(entry.endpoint());
            const std::lock_guard<std::mutex> lock(state->mutex);
            state->ec = rec;
            state->endpoints = std::move(endpoints);
            state->done = true;
            state->done_cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        return fail(e.code(), "start a DNS lookup for " + ep.host);
    }
    std::unique_lock<std::mutex> lock(state->mutex);
    if (!state->done_cv.wait_until(lock, deadline, [&state] { return state->done; })) {
        return fail(std::make_error_code(std::errc::timed_out), "resolve " + ep.host);
    }
    if (state->ec) return fail(to_std(state->ec), "resolve " + ep.host);
    return std::move(state->endpoints);
}

/// Writes the request and reads one response over `stream`, whose lowest layer carries the
/// deadline. Returns the body of a 200 response.
template <class Stream>
result<std::string> exchange(net::io_context& ioc, Stream& stream,
                             const http::request<http::string_body>& req, const std::string& where) {
    auto ec = run_step(ioc, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
    if (ec) return fail(to_std(ec), "write to " + where);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_reply_bytes);
    ec = run_step(ioc, [&](auto handler) {
        http::async_read(stream, buffer, parser, std::move(handler));
    });
    if (ec) return fail(to_std(ec), "read from " + where);
    const auto& res = parser.get();
    if (res.result() != http::status::ok) {
        return fail(std::make_error_code(std::errc::protocol_error),
                    where + " answered HTTP " + std::to_string(res.result_int()));
    }
    return res.body();
}

/// The whole HTTP exchange with `ep`, bounded by `deadline`.
result<std::string> post(const rpc_endpoint& ep, const http::request<http::string_body>& req,
                         steady::time_point deadline) {
    const std::string where = ep.host + ":" + ep.port;
    PURSER_TRY(endpoints, resolve(ep, deadline));

    net::io_context ioc;
    beast::error_code ec;
    if (!ep.tls) {
        beast::tcp_stream stream(ioc);
        stream.expires_at(deadline);
        ec = run_step(ioc, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
        if (ec) return fail(to_std(ec), "connect to " + where);
        auto text = exchange(ioc, stream, req, where);
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        return text;
    }

    ssl::context ctx(ssl::context::tls_client);
    ctx.set_default_verify_paths(ec);
    if (ec) return fail(to_std(ec), "load the system CA certificates");
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    // SNI, and the certificate must name the host we asked for.
    // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
    if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(ep.host.c_str())) != 1) {
        return fail(std::make_error_code(std::errc::protocol_error), "set TLS server name");
    }
    stream.set_verify_callback(ssl::host_name_verification(ep.host));
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_at(deadline);
    ec = run_step(ioc, [&](auto handler) { lowest.async_connect(endpoints, std::move(handler)); });
    if (ec) return fail(to_std(ec), "connect to " + where);
    ec = run_step(ioc, [&](auto handler) {
        stream.async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) return fail(to_std(ec), "TLS handshake with " + where);
    auto text = exchange(ioc, stream, req, where);
    // The reply is complete (or failed); a truncated close changes nothing.
    lowest.expires_at(std::min(deadline, steady::now() + tls_close_grace));
    run_step(ioc, [&](auto handler) { stream.async_shutdown(std::move(handler)); });
    return text;
}

}  // namespace

result<rpc_endpoint> parse_rpc_url(std::string_view url) {
    rpc_endpoint ep;
    std::string_view rest;
    if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else if (url.rfind("https://", 0) == 0) {
        ep.tls = true;
        rest = url.substr(8);
    } else {
        return fail(protocol::errc::invalid_value, "RPC URL must start with http:// or https://");
    }
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) ep.target = std::string(rest.substr(slash));
    if (authority.find('@') != std::string_view::npos) {
        return fail(protocol::errc::invalid_value, "RPC URL credentials are not supported");
    }
    ep.port = ep.tls ? "443" : "80";
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fail(protocol::errc::invalid_value, "RPC URL: unclosed [");
        ep.host = std::string(authority.substr(1, close - 1));
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail(protocol::errc::invalid_value, "RPC URL: bad port");
            ep.port = std::string(after.substr(1));
        }
    } else {
        const auto colon = authority.rfind(':');
        ep.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) ep.port = std::string(authority.substr(colon + 1));
    }
    if (ep.host.empty()) return fail(protocol::errc::invalid_value, "RPC URL has no host");
    if (ep.port.empty() || ep.port.size() > 5 ||
        ep.port.find_first_not_of("0123456789") != std::string::npos || std::stoul(ep.port) > 65535) {
        return fail(protocol::errc::invalid_value, "RPC URL has a bad port");
    }
    return ep;
}

std::string display_origin(const rpc_endpoint& endpoint) {
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    return std::string(endpoint.tls ? "https://" : "http://") + (v6 ? "[" : "") + endpoint.host +
           (v6 ? "]" : "") + ":" + endpoint.port;
}

result<nlohmann::json> json_rpc_client::call(std::string_view method,
                                             const nlohmann::json& params) const {
    const auto deadline = steady::now() + timeout_;
    const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    const nlohmann::json body = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};

    http::request<http::string_body> req{http::verb::post, endpoint_.target, 11};
    req.set(http::field::host, endpoint_.host);
    req.set(http::field::user_agent, "purser");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    req.body() = body.dump();
    req.prepare_payload();

    auto text = post(endpoint_, req, deadline);
    if (!text) {
        // Whichever step the deadline cut short (a lookup, a connect, a silent server), the
        // caller learns one thing: this RPC did not answer in time.
        if (text.error().code == to_std(beast::error::timeout) ||
            text.error().code == std::errc::timed_out || steady::now() >= deadline) {
            return fail(std::make_error_code(std::errc::timed_out),
                        "RPC " + display_origin(endpoint_) + " did not answer within " +
                            describe(timeout_));
        }
        return tl::unexpected(text.error());
    }

    auto reply = nlohmann::json::parse(*text, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) {
        return fail(protocol::errc::invalid_json, std::string(method) + ": the reply is not JSON");
    }
    if (auto err = reply.find("error"); err != reply.end() && !err->is_null()) {
        std::string msg = "unknown error";
        if (err->is_object()) {
            if (auto m = err->find("message"); m != err->end() && m->is_string()) msg = m->get<std::string>();
            if (auto c = err->find("code"); c != err->end() && c->is_number_integer()) {
                msg += " (code " + std::to_string(c->get<long long>()) + ")";
            }
        }
        return fail(std::make_error_code(std::errc::protocol_error),
                    std::string(method) + ": " + msg.substr(0, 300));
    }
    auto res = reply.find("result");
    if (res == reply.end()) {
        return fail(protocol::errc::missing_field, std::string(method) + ": the reply has no result");
    }
    return *res;
}

}  // namespace purser::chain
