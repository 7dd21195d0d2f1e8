// The origin side of an exchange: a pooled or new connection (TLS verified against the system
// roots plus upstream_ca), and the request sent on it, buffered or streamed.
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/post.hpp>

#include "purser/proxy/detail/wire_head.hpp"
#include "session.hpp"

namespace purser::proxy {
namespace {

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    net::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

std::string session::pool_key() const {
    return std::string(ex_.request.dest.tls ? "https://" : "http://") + ex_.request.dest.authority();
}

void session::forward_request() {
    ex_.enter(exchange_phase::forwarding);
    start_upstream();
}

/// Takes an idle pooled connection to the origin, or opens a new one. A paid retry never takes
/// one from the pool (a connection idle for seconds may be closed by the origin as the payment
/// goes out, and a payment that may have left is never sent again: it would be in doubt); it
/// goes on the connection that carried its 402 when on_plan kept it, else on a new one.
void session::start_upstream() {
    ex_.upstream_start = std::chrono::steady_clock::now();
    if (ex_.paying() && up_) return send_request();
    const auto key = pool_key();
    if (!ex_.paying()) {
        if (auto idle = worker_.pool.take(key, ms(cfg_->idle_timeout_ms))) {
            up_ = std::move(idle);
            up_->reused = true;
            return send_request();
        }
    }
    up_ = std::make_unique<upstream>(upstream{
        key,
        ex_.request.dest.tls ? either_stream(client_.get_executor(), srv_.upstream_tls)
                     : either_stream(tcp_stream(client_.get_executor())),
        {},
        false,
        std::nullopt,
        false});
    up_->buffer.reserve(io_chunk);
    if (ex_.paying() && ex_.request.origin_address) {
        auto& lowest = up_->stream.lowest();
        lowest.expires_after(ms(cfg_->upstream_timeout_ms));
        up_->address = ex_.request.origin_address;
        lowest.async_connect(*ex_.request.origin_address,
                             [self = shared_from_this()](boost::system::error_code ec) {
                                 self->on_upstream_connect(ec);
                             });
        return;
    }
    resolve_origin([self = shared_from_this()](boost::system::error_code ec,
                                               const std::vector<tcp::endpoint>& addresses) {
        if (ec)
            return self->upstream_failed(
                http::status::bad_gateway,
                "cannot resolve " + self->ex_.request.dest.host + ": " + ec.message());
        auto& lowest = self->up_->stream.lowest();
        lowest.expires_after(ms(self->cfg_->upstream_timeout_ms));
        lowest.async_connect(addresses, [self](boost::system::error_code cec,
                                               const tcp::endpoint& where) {
            if (!cec) self->up_->address = where;
            self->on_upstream_connect(cec);
        });
    });
}

bool session::keep_402_connection() {
    if (!up_ || !res_parser_ || !res_parser_->is_done() || !res_parser_->keep_alive() ||
        up_->buffer.size() != 0 || ex_.request.no_pool) {
        return false;
    }
    // The origin answered moments ago; what it did since is on the socket. Nothing to read
    // (EAGAIN) means open and idle. A FIN (0), bytes (an idle HTTP/1.1 connection has none: a
    // TLS alert, a stray answer) or an error mean the retry would likely fail after the payment
    // left, so it goes on a new connection instead.
    char probe = 0;
    const auto got = ::recv(up_->stream.lowest().socket().native_handle(), &probe, 1,
                            MSG_PEEK | MSG_DONTWAIT);
    return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void session::resolve_origin(
    std::function<void(boost::system::error_code, const std::vector<tcp::endpoint>&)> next) {
    const auto& dest = ex_.request.dest;
    if (auto known = worker_.names.find(dest.host, dest.port, std::chrono::steady_clock::now()))
        return next({}, *known);
    resolver_.async_resolve(
        dest.host, std::to_string(dest.port),
        [self = shared_from_this(), next = std::move(next)](boost::system::error_code ec,
                                                            tcp::resolver::results_type results) {
            std::vector<tcp::endpoint> addresses;
            for (const auto& r : results) addresses.push_back(r.endpoint());
            if (!ec && addresses.empty()) ec = net::error::host_not_found;
            if (!ec) {
                const auto& d = self->ex_.request.dest;
                self->worker_.names.remember(d.host, d.port, addresses,
                                             std::chrono::steady_clock::now());
            }
            next(ec, addresses);
        });
}

void session::on_upstream_connect(boost::system::error_code ec) {
    if (ec == beast::error::timeout)
        return upstream_failed(http::status::gateway_timeout,
                               "connecting to " + ex_.request.dest.authority() + " timed out");
    if (ec)
        return upstream_failed(http::status::bad_gateway,
                               "cannot connect to " + ex_.request.dest.authority() + ": " + ec.message());
    // No Nagle delay: a request's head and body, or a resumed TLS handshake's Finished and the
    // request after it, are separate small writes that must not wait for the origin's ACK
    // (a delayed ACK holds them 40 ms).
    boost::system::error_code ignored;
    up_->stream.lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!up_->stream.is_tls()) return send_request();
    start_upstream_tls();
}

void session::start_upstream_tls() {
    auto& tls = up_->stream.tls();
    SSL* ssl_handle = tls.native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
    const bool ip = is_ip_literal(ex_.request.dest.host);
    // SNI carries names only; the peer check is by IP SAN or host name (RFC 6125).
    // SSL_set_tlsext_host_name is a macro with a C cast; this is the call it expands to.
    if ((!ip && SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(ex_.request.dest.host.c_str())) != 1) ||
        (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ex_.request.dest.host.c_str())
            : X509_VERIFY_PARAM_set1_host(param, ex_.request.dest.host.c_str(), 0)) != 1) {
        ERR_clear_error();
        return upstream_failed(http::status::bad_gateway, "cannot set up TLS for " + ex_.request.dest.host);
    }
    tls.set_verify_mode(ssl::verify_peer);
    worker_.origin_sessions.offer(up_->key, ssl_handle);
    up_->stream.lowest().expires_after(ms(cfg_->upstream_timeout_ms));
    tls.async_handshake(ssl::stream_base::client, [self = shared_from_this()](
                                                       boost::system::error_code hec) {
        if (hec == beast::error::timeout)
            return self->upstream_failed(
                http::status::gateway_timeout,
                "TLS handshake with " + self->ex_.request.dest.authority() + " timed out");
        if (hec) {
            const long v = SSL_get_verify_result(self->up_->stream.tls().native_handle());
            // An untrusted certificate is most often a private CA (the local testnet's among
            // them): say which option fixes it.
            const std::string why =
                v != X509_V_OK ? std::string(X509_verify_cert_error_string(v)) +
                                     " (trust the origin's CA with --upstream-ca FILE)"
                               : hec.message();
            ERR_clear_error();
            return self->upstream_failed(
                http::status::bad_gateway,
                "TLS to " + self->ex_.request.dest.authority() + " failed: " + why);
        }
        self->send_request();
    });
}

void session::send_request() {
    up_->stream.lowest().expires_after(ms(cfg_->upstream_timeout_ms));
    if (!ex_.paying() && up_->address) ex_.request.origin_address = up_->address;
    // From here on a byte of the paid retry (and so the signature) may reach the origin: any
    // failure is maybe_delivered, never a reason to release the payment.
    if (ex_.paying()) ex_.payment->may_have_left = true;
    if (ex_.request.replayable) {
        // The whole request in one write: its head (see detail::append_request_head), then the
        // buffered body, in one chunk when the request goes out chunked.
        const auto& replay = ex_.request.replay;
        const auto& body = replay.body();
        wire_.clear();
        detail::append_request_head(wire_, replay.base());
        const std::string_view after =
            replay.chunked() ? detail::append_chunk_framing(wire_, body.size(), true) : "";
        const std::array<net::const_buffer, 3> pieces{net::buffer(wire_), net::buffer(body),
                                                      net::buffer(after.data(), after.size())};
        up_->stream.visit([&](auto& s) {
            net::async_write(s, pieces, [self = shared_from_this()](boost::system::error_code ec,
                                                                    std::size_t) {
                self->wire_.clear();
                if (ec) return self->on_send_failed(ec);
                self->read_response_header();
            });
        });
        return;
    }
    // Streaming: the agent's head (already cleaned), then what was buffered, then the rest.
    req_sr_.emplace(req_parser_->get());
    up_->stream.visit([&](auto& s) {
        http::async_write_header(s, *req_sr_,
                                 [self = shared_from_this()](boost::system::error_code ec,
                                                             std::size_t) {
                                     if (ec) return self->on_send_failed(ec);
                                     self->ex_.request.streamed_bytes = self->ex_.request.prefix.size();
                                     self->stream_request_next();
                                 });
    });
}

void session::on_send_failed(boost::system::error_code ec) {
    if (up_->reused && ex_.request.replayable && !ex_.paying()) {
        // The origin closed a pooled connection between requests; nothing was processed.
        up_.reset();
        return start_upstream_fresh();
    }
    if (ec == beast::error::timeout)
        return upstream_failed(http::status::gateway_timeout,
                               "sending to " + ex_.request.dest.authority() + " timed out");
    upstream_failed(http::status::bad_gateway,
                    "sending to " + ex_.request.dest.authority() + " failed: " + ec.message());
}

void session::start_upstream_fresh() {
    worker_.pool.drop(pool_key());  // its siblings are probably stale too
    start_upstream();
}

void session::stream_request_next() {
    auto& p = *req_parser_;
    if (detail::next_buffered_piece(p.get().body(), ex_.request.prefix, ex_.request.prefix_sent, p.is_done()))
        return stream_request_write();
    buffer_.reserve(io_chunk);  // see idle_read_size
    auto& body = p.get().body();
    body.data = chunk();
    body.size = io_chunk;
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    client_.visit([&](auto& s) {
        http::async_read_some(
            s, buffer_, p, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec == http::error::need_buffer) ec = {};
                if (ec) return self->abort_both();
                auto& b = self->req_parser_->get().body();
                const std::size_t got = io_chunk - b.size;
                self->ex_.request.streamed_bytes += got;
                // As in relay_next: an empty non-null buffer would become an extra last-chunk.
                b.data = got == 0 ? nullptr : self->chunk();
                b.size = got;
                b.more = !self->req_parser_->is_done();
                if (got == 0 && b.more) return self->stream_request_next();
                self->stream_request_write();
            });
    });
}

void session::stream_request_write() {
    up_->stream.lowest().expires_after(ms(cfg_->upstream_timeout_ms));
    up_->stream.visit([&](auto& s) {
        http::async_write(s, *req_sr_,
                          [self = shared_from_this()](boost::system::error_code ec,
                                                      std::size_t) {
                              if (ec == http::error::need_buffer) ec = {};
                              if (ec) return self->abort_both();
                              if (self->req_sr_->is_done()) return self->read_response_header();
                              self->stream_request_next();
                          });
    });
}

/// The exchange is over on this connection: any agent connection may reuse it.
void session::release_upstream() {
    if (!up_) return;
    if (ex_.request.no_pool) {
        up_.reset();
        return;
    }
    upstream_pool::limits keep;
    keep.per_origin = cfg_->pool_idle_per_origin;
    keep.max_age = ms(cfg_->idle_timeout_ms);
    worker_.pool.give(std::move(up_), keep);
}

/// An upstream failure before anything reached the agent: 502/504 with a one-line reason. On a
/// paid retry the hook hears about it first.
void session::upstream_failed(http::status status, std::string why) {
    up_.reset();
    if (ex_.payment && !ex_.payment->outcome_reported) {
        ex_.payment->outcome_reported = true;
        const auto delivered =
            ex_.payment->may_have_left ? delivery::maybe_delivered : delivery::not_sent;
        net::post(srv_.workers, [self = shared_from_this(), status, why, delivered]() {
            auto outcome =
                self->srv_.hook->on_paid_failure(self->ex_.payment->plan, self->ex_.info, delivered, why);
            net::post(self->client_.get_executor(),
                      [self, status, why, outcome = std::move(outcome)]() mutable {
                          self->ex_.extra_headers = std::move(outcome.add_response_headers);
                          for (auto& f : outcome.log_fields)
                              self->ex_.log_fields[f.first] = f.second;
                          self->send_error(status, why, false);
                      });
        });
        return;
    }
    send_error(status, why, false);
}

}  // namespace purser::proxy
