// Reading the agent's request: head, route, credentials, and the body (buffered up to
// max_replay_body so a paid retry can send it again byte for byte).
#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/write.hpp>

#include "purser/protocol/url.hpp"
#include "session.hpp"

namespace purser::proxy {
namespace {

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

session::session(server::impl& srv, io_worker& worker, tcp_stream stream)
    : srv_(srv), worker_(worker), cfg_(srv.current_config()), client_(std::move(stream)),
      resolver_(client_.get_executor()) {
    boost::system::error_code ec;  // an agent already gone has no endpoint: logged as ""
    const auto peer = client_.lowest().socket().remote_endpoint(ec);
    if (!ec) client_endpoint_ = peer.address().to_string() + ":" + std::to_string(peer.port());
    ++srv_.active;
}

session::~session() {
    worker_.give_chunk(std::move(chunk_));
    --srv_.active;
    srv_.on_connection_closed();
}

void session::start() {
    worker_.register_session(shared_from_this());
    do_read_request();
}

void session::on_stop() {
    stopping_ = true;
    if (idle_) close_client();
}

void session::do_read_request() {
    if (stopping_ || srv_.stopping) return close_client();
    ex_ = exchange{};
    release_idle_memory();
    req_parser_.emplace();
    req_parser_->header_limit(static_cast<std::uint32_t>(cfg_->max_header_bytes));
    // Bodies past the replay limit stream through. Not boost::none: Boost 1.74 compares a
    // Content-Length against the empty optional as `len > none`, which is always true.
    req_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    idle_ = true;
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    do_read_request_line();
}

void session::do_read_request_line() {
    const auto in = buffer_.data();
    if (!detail::rewrite_later_minor_version(static_cast<char*>(in.data()), in.size()) &&
        buffer_.size() < cfg_->max_header_bytes) {
        client_.visit([&](auto& s) {
            s.async_read_some(buffer_.prepare(idle_read_size), [self = shared_from_this()](
                                                             boost::system::error_code ec,
                                                             std::size_t n) {
                self->buffer_.commit(n);
                if (ec) return self->on_read_header(ec);
                self->do_read_request_line();
            });
        });
        return;
    }
    client_.visit([&](auto& s) {
        http::async_read_header(
            s, buffer_, *req_parser_,
            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                self->on_read_header(ec);
            });
    });
}

void session::on_read_header(boost::system::error_code ec) {
    idle_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == ssl::error::stream_truncated ||
        ec == net::error::connection_reset || ec == net::error::eof)
        return close_client();
    ex_.start = std::chrono::steady_clock::now();
    auto& req = req_parser_->get();
    ex_.request.method = std::string(req.method_string());
    // keep_alive() is only defined once the header parsed; a malformed one closes anyway.
    ex_.request.keep_alive = req_parser_->is_header_done() && req_parser_->keep_alive();
    if (ec == http::error::header_limit)
        return send_error(http::status::request_header_fields_too_large,
                          "request headers larger than " +
                              std::to_string(cfg_->max_header_bytes) + " bytes",
                          true);
    if (ec) return send_error(http::status::bad_request, "malformed request: " + ec.message(), true);

    ex_.request.url = std::string(req.target());
    if (auto refusal = check_framing(req)) {
        // The rest of the connection's bytes cannot be framed reliably, so it closes.
        return send_error(static_cast<http::status>(refusal->status), std::move(refusal->why),
                          true);
    }
    if (auto why = check_header_names(req))
        return send_error(http::status::bad_request, *why, true);
    if (req.method() == http::verb::connect) {
        if (intercepted())
            return send_error(http::status::bad_request, "CONNECT inside a tunnel", true);
        if (!authenticate(req)) return;
        return start_connect();
    }
    if (auto why = reframe_chunked_request())
        return send_error(http::status::bad_request, *why, true);
    // The parser may have been replaced: read the request from it again.
    route_and_read_body(req_parser_->get());
}

void session::route_and_read_body(http::request<http::buffer_body>& req) {
    if (!route_request(req)) return;
    // The body was not read: the connection closes after the refusal.
    if (auto why = check_get_body(req)) return send_error(http::status::bad_request, *why, true);
    ex_.request.url = ex_.request.dest.url();
    prepare_forwarded_request(req);

    if (ex_.request.expect_continue && !req_parser_->is_done()) {
        // We buffer the body before talking upstream, so we answer the expectation ourselves.
        client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
        client_.visit([&](auto& s) {
            net::async_write(s, net::buffer(continue_line),
                             [self = shared_from_this()](boost::system::error_code wec,
                                                         std::size_t) {
                                 if (wec) return self->close_client();
                                 self->start_body();
                             });
        });
        return;
    }
    start_body();
}

bool session::route_request(http::request<http::buffer_body>& req) {
    if (intercepted()) {
        ex_.request.agent = tunnel_agent_;  // from the CONNECT that opened the tunnel
        ex_.request.dest = *tunnel_;
        std::string target(req.target());
        const std::string scheme = tunnel_->tls ? "https://" : "http://";
        if (target.rfind(scheme, 0) == 0) {  // absolute-form inside the tunnel
            const auto slash = target.find('/', scheme.size());
            target = slash == std::string::npos ? "/" : target.substr(slash);
        }
        if (target.empty() || target.front() != '/') {
            send_error(http::status::bad_request, "bad request target", true);
            return false;
        }
        ex_.request.dest.target = target;
        return true;
    }
    auto o = detail::parse_absolute_url(req.target());
    if (!o) {
        const bool origin_form = !req.target().empty() && req.target().front() == '/';
        send_error(http::status::bad_request,
                   origin_form ? "origin-form request sent to a proxy: use an absolute http:// "
                                 "URL, or CONNECT for https"
                               : o.error().detail,
                   true);
        return false;
    }
    ex_.request.dest = std::move(*o);
    return authenticate(req);
}

/// Transfer-Encoding and Content-Length as detail::check_request_framing judges them. Beast
/// itself rejects a Content-Length after `chunked` and a second `chunked`, but parses an unknown
/// coding as a body of no length, which would reach the origin next to the coding's name.
std::optional<detail::framing_refusal> session::check_framing(
    const http::request<http::buffer_body>& req) {
    std::vector<std::string_view> codings;
    const auto [first, last] = req.equal_range(http::field::transfer_encoding);
    for (auto it = first; it != last; ++it)
        codings.emplace_back(it->value().data(), it->value().size());
    return detail::check_request_framing(codings, req.count(http::field::content_length) != 0);
}

/// A request whose final coding is chunked (check_framing let it through) leaves with the proxy's
/// own chunking under the codings the origin still has to undo. Beast recognises chunked only
/// when a field's last token is exactly `chunked`; for `chunked;custom_param` it reads no body at
/// all, so the parser is restarted on a chunked head to decode the body the proxy judged chunked.
std::optional<std::string> session::reframe_chunked_request() {
    std::vector<std::string_view> values;
    const auto [first, last] = req_parser_->get().equal_range(http::field::transfer_encoding);
    for (auto it = first; it != last; ++it)
        values.emplace_back(it->value().data(), it->value().size());
    if (values.empty()) return std::nullopt;
    const auto forwarded = detail::forwarded_transfer_encoding(values);
    if (!req_parser_->chunked()) {
        auto head = req_parser_->get().base();
        req_parser_.emplace();
        req_parser_->header_limit(static_cast<std::uint32_t>(cfg_->max_header_bytes));
        req_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        constexpr std::string_view chunked_head =
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        boost::system::error_code ec;
        req_parser_->put(net::buffer(chunked_head.data(), chunked_head.size()), ec);
        if (ec || !req_parser_->is_header_done() || !req_parser_->chunked())
            return "cannot decode the chunked body";
        req_parser_->get().base() = std::move(head);
    }
    auto& req = req_parser_->get();
    req.set(http::field::transfer_encoding, forwarded);
    // What goes upstream must be chunked in Beast's reading too, or the serializer would send
    // the body unframed under a Transfer-Encoding that says otherwise.
    if (!req.chunked()) return "cannot re-frame the chunked body";
    // An origin that knows only a bare `chunked` may frame this body differently: whatever it
    // makes of it, its connection must not carry another agent's request afterwards.
    if (forwarded != "chunked") ex_.request.no_pool = true;
    return std::nullopt;
}

std::optional<std::string> session::check_header_names(http::request<http::buffer_body>& req) {
    std::vector<std::string> dropped;
    for (const auto& f : req) {
        const auto name = f.name_string();
        if (detail::is_framing_look_alike(name))
            return "header name '" + std::string(name.substr(0, 40)) +
                   "' looks like Content-Length or Transfer-Encoding";
        if (name.find('_') == std::string_view::npos) continue;
        switch (cfg_->underscore_headers) {
            case underscore_policy::allow: break;
            case underscore_policy::drop: dropped.emplace_back(name); break;
            case underscore_policy::reject:
                return "header name '" + std::string(name.substr(0, 40)) +
                       "' contains '_' (underscore_headers is reject)";
        }
    }
    for (const auto& name : dropped) req.erase(name);
    return std::nullopt;
}

std::optional<std::string> session::check_get_body(const http::request<http::buffer_body>& req) {
    if (req.method() != http::verb::get && req.method() != http::verb::head) return std::nullopt;
    const auto len = req_parser_->content_length();
    if (!req_parser_->chunked() && (!len || *len == 0)) return std::nullopt;
    const auto& hosts = cfg_->allow_get_body_hosts;
    if (std::any_of(hosts.begin(), hosts.end(), [&](const std::string& p) {
            return protocol::host_pattern_matches(p, ex_.request.dest.host);
        })) {
        // Origins disagree on whether such a body exists: whatever this one made of it, its
        // connection must not carry another agent's request.
        ex_.request.no_pool = true;
        return std::nullopt;
    }
    return std::string(req.method_string()) +
           " request with a body is refused (allow_get_body_hosts lists hosts that accept one)";
}

/// The request as it will go upstream: hop-by-hop headers and credentials removed, the target in
/// origin-form, our Via added.
void session::prepare_forwarded_request(http::request<http::buffer_body>& req) {
    detail::strip_hop_by_hop(req.base());
    req.erase(http::field::proxy_authorization);
    ex_.request.expect_continue =
        detail::iequals(detail::field_value(req.base(), "expect"), "100-continue");
    req.erase(http::field::expect);
    ex_.request.has_payment_header =
        req.find("x-payment") != req.end() || req.find("payment-signature") != req.end();
    req.target(ex_.request.dest.target);
    req.version(11);
    if (!intercepted()) {
        const std::string host = ex_.request.dest.host.find(':') != std::string::npos
                                     ? "[" + ex_.request.dest.host + "]"
                                     : ex_.request.dest.host;
        req.set(http::field::host,
                ex_.request.dest.port == 80 ? host : host + ":" + std::to_string(ex_.request.dest.port));
    }
    req.set(http::field::via, detail::append_via(detail::field_value(req.base(), "via")));
}

/// Sets ex_.request.agent from Proxy-Authorization or the default agent; answers 407 otherwise.
bool session::authenticate(const http::request<http::buffer_body>& req) {
    const auto it = req.find(http::field::proxy_authorization);
    if (it == req.end()) {
        if (cfg_->default_agent) {
            ex_.request.agent = *cfg_->default_agent;
            return true;
        }
        send_407("proxy credentials required");
        return false;
    }
    const auto creds = detail::decode_basic(it->value());
    identity who;
    if (creds && srv_.auth) who = srv_.auth->authenticate(creds->first, creds->second);
    if (!who.unavailable.empty()) {
        send_error(http::status::service_unavailable, who.unavailable, false);
        return false;
    }
    if (!who.agent) {
        send_407("proxy credentials not accepted");
        return false;
    }
    ex_.request.agent = std::move(*who.agent);
    return true;
}

void session::start_body() {
    auto& p = *req_parser_;
    if (p.is_done()) return on_body_complete();
    if (const auto len = p.content_length(); len && *len > cfg_->max_replay_body) {
        ex_.request.replayable = false;
        return forward_request();
    }
    do_read_body();
}

void session::release_idle_memory() {
    worker_.give_chunk(std::move(chunk_));
    if (buffer_.capacity() > idle_read_size) buffer_.shrink_to_fit();
    req_sr_.reset();
    wire_.clear();
    res_parser_.reset();
}

void session::do_read_body() {
    buffer_.reserve(io_chunk);  // see idle_read_size
    auto& body = req_parser_->get().body();
    body.data = chunk();
    body.size = io_chunk;
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    client_.visit([&](auto& s) {
        http::async_read_some(s, buffer_, *req_parser_,
                              [self = shared_from_this()](boost::system::error_code ec,
                                                          std::size_t) {
                                  self->on_read_body(ec);
                              });
    });
}

void session::on_read_body(boost::system::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
        if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
            ec == net::error::eof)
            return close_client();
        return send_error(http::status::bad_request, "malformed request body: " + ec.message(),
                          true);
    }
    auto& body = req_parser_->get().body();
    ex_.request.body.append(chunk(), io_chunk - body.size);
    if (ex_.request.body.size() > cfg_->max_replay_body) {
        // Too big to keep: what we have goes first, the rest streams from the agent.
        ex_.request.replayable = false;
        ex_.request.prefix = std::move(ex_.request.body);
        ex_.request.body.clear();
        return forward_request();
    }
    if (req_parser_->is_done()) return on_body_complete();
    do_read_body();
}

void session::on_body_complete() {
    auto& src = req_parser_->get();
    ex_.request.replay = {};
    ex_.request.replay.base() = src.base();
    ex_.request.replay.body() = std::move(ex_.request.body);
    ex_.request.replay.chunked(false);
    // Zero bytes carry no coding to undo; and Beast would chunk an empty string body as an empty
    // chunk (itself a last chunk) before the last chunk, a second "request" at the origin.
    if (ex_.request.replay.body().empty()) ex_.request.replay.erase(http::field::transfer_encoding);
    if (ex_.request.replay.count(http::field::transfer_encoding) != 0) {
        // Codings other than chunked remain (gzip, chunked): the body is still coded and only
        // chunked can frame it, so the proxy chunks it again (one chunk: the same bytes on a
        // paid retry), never with a Content-Length next to the Transfer-Encoding.
        ex_.request.replay.erase(http::field::content_length);
        ex_.request.replay.chunked(true);
        return forward_request();
    }
    ex_.request.replay.prepare_payload();
    if (ex_.request.replay.body().empty() &&
        (src.method() == http::verb::get || src.method() == http::verb::head ||
         src.method() == http::verb::delete_ || src.method() == http::verb::options))
        ex_.request.replay.erase(http::field::content_length);
    forward_request();
}

request_info session::make_info() const {
    request_info info;
    info.agent = ex_.request.agent;
    info.method = ex_.request.method;
    info.url = ex_.request.url;
    info.host = ex_.request.dest.host;
    info.port = ex_.request.dest.port;
    info.tls = ex_.request.dest.tls;
    const auto& fields = ex_.request.replayable ? ex_.request.replay.base() : req_parser_->get().base();
    info.headers = detail::to_header_list(fields);
    info.body_size = ex_.request.replayable ? ex_.request.replay.body().size() : ex_.request.streamed_bytes;
    info.body_replayable = ex_.request.replayable;
    return info;
}

}  // namespace purser::proxy
