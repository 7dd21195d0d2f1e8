#include "json_rpc.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <openssl/ssl.h>

#include "purser/protocol/errc.hpp"

namespace purser::cli {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr std::size_t max_reply_bytes = 1 << 20;

std::error_code to_std(const beast::error_code& ec) { return ec; }

template <class Stream>
result<std::string> exchange(Stream& stream, beast::tcp_stream& lowest,
                             std::chrono::milliseconds timeout,
                             const http::request<http::string_body>& req, const std::string& where) {
    beast::error_code ec;
    lowest.expires_after(timeout);
    http::write(stream, req, ec);
    if (ec) return fail(to_std(ec), "write to " + where);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_reply_bytes);
    lowest.expires_after(timeout);
    http::read(stream, buffer, parser, ec);
    if (ec) return fail(to_std(ec), "read from " + where);
    const auto& res = parser.get();
    if (res.result() != http::status::ok) {
        return fail(std::make_error_code(std::errc::protocol_error),
                    where + " answered HTTP " + std::to_string(res.result_int()));
    }
    return res.body();
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

result<nlohmann::json> json_rpc_client::call(std::string_view method, const nlohmann::json& params) {
    const std::uint64_t id = next_id_++;
    const nlohmann::json body = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
    const std::string where = endpoint_.host + ":" + endpoint_.port;

    http::request<http::string_body> req{http::verb::post, endpoint_.target, 11};
    req.set(http::field::host, endpoint_.host);
    req.set(http::field::user_agent, "purser");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    req.body() = body.dump();
    req.prepare_payload();

    net::io_context ioc;
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (ec) return fail(to_std(ec), "resolve " + endpoint_.host);

    result<std::string> text;
    if (!endpoint_.tls) {
        beast::tcp_stream stream(ioc);
        stream.expires_after(timeout_);
        stream.connect(endpoints, ec);
        if (ec) return fail(to_std(ec), "connect to " + where);
        text = exchange(stream, stream, timeout_, req, where);
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    } else {
        ssl::context ctx(ssl::context::tls_client);
        ctx.set_default_verify_paths(ec);
        if (ec) return fail(to_std(ec), "load the system CA certificates");
        ctx.set_verify_mode(ssl::verify_peer);
        beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
        // SNI, and the certificate must name the host we asked for.
        // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
        if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(endpoint_.host.c_str())) != 1) {
            return fail(std::make_error_code(std::errc::protocol_error), "set TLS server name");
        }
        stream.set_verify_callback(ssl::host_name_verification(endpoint_.host));
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_after(timeout_);
        lowest.connect(endpoints, ec);
        if (ec) return fail(to_std(ec), "connect to " + where);
        lowest.expires_after(timeout_);
        stream.handshake(ssl::stream_base::client, ec);
        if (ec) return fail(to_std(ec), "TLS handshake with " + where);
        text = exchange(stream, lowest, timeout_, req, where);
        stream.shutdown(ec);  // The reply is complete; a truncated close changes nothing.
    }
    if (!text) return tl::unexpected(text.error());

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

}  // namespace purser::cli
