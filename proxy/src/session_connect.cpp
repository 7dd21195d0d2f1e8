// CONNECT: an intercepted host turns this connection into TLS with a minted certificate, so its
// requests (and their 402s) can be seen; any other host gets a byte tunnel.
#include <utility>

#include <boost/asio/write.hpp>

#include "session.hpp"
#include "tunnel.hpp"

namespace purser::proxy {

void session::start_connect() {
    auto hp = detail::parse_authority(req_parser_->get().target());
    if (!hp) return send_error(http::status::bad_request, hp.error().detail, true);
    if (hp->second == 0)
        return send_error(http::status::bad_request, "CONNECT needs host:port", true);
    ex_.request.dest.host = hp->first;
    ex_.request.dest.port = hp->second;
    ex_.request.dest.tls = true;
    ex_.request.url = ex_.request.dest.authority();
    if (detail::should_intercept(cfg_->intercept, cfg_->no_intercept, hp->first)) {
        // Without a CA, plain HTTP in the tunnel (undici's http:// over CONNECT) can still be
        // served: answer, and refuse TLS only once the agent shows it speaks TLS.
        if (!srv_.ca) return send_connect_ok(true);
        std::string why;
        auto ctx = worker_.leaf_context(*srv_.ca, hp->first, why);
        if (!ctx)
            return send_error(http::status::bad_gateway,
                              "cannot intercept " + hp->first + ": " + why, true);
        leaf_ctx_ = std::move(ctx);
        return send_connect_ok(true);
    }
    connect_tunnel_origin();
}

void session::connect_tunnel_origin() {
    resolve_origin(
        [self = shared_from_this()](boost::system::error_code ec,
                                    const std::vector<tcp::endpoint>& results) {
            if (ec)
                return self->send_error(
                    http::status::bad_gateway,
                    "cannot resolve " + self->ex_.request.dest.host + ": " + ec.message(), true);
            self->tunnel_up_ = std::make_unique<tcp_stream>(self->client_.get_executor());
            self->tunnel_up_->expires_after(ms(self->cfg_->upstream_timeout_ms));
            self->tunnel_up_->async_connect(results, [self](boost::system::error_code cec,
                                                            const tcp::endpoint&) {
                const auto where = self->ex_.request.dest.authority();
                if (cec == beast::error::timeout)
                    return self->send_error(http::status::gateway_timeout,
                                            "connecting to " + where + " timed out", true);
                if (cec)
                    return self->send_error(http::status::bad_gateway,
                                            "cannot connect to " + where + ": " + cec.message(),
                                            true);
                // Relayed bytes go out as they come, as on the agent's side (server.cpp).
                boost::system::error_code ignored;
                self->tunnel_up_->socket().set_option(tcp::no_delay(true), ignored);
                self->send_connect_ok(false);
            });
        });
}

void session::send_connect_ok(bool intercept) {
    static constexpr std::string_view ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    net::async_write(client_.lowest(), net::buffer(ok),
                     [self = shared_from_this(), intercept](boost::system::error_code ec,
                                                            std::size_t) {
                         if (ec) return self->close_client();
                         // Not an answer phase: the exchange goes on with what the tunnel
                         // carries (a refusal of it is this exchange's answer), or ends in it.
                         self->ex_.response.status = 200;
                         if (intercept) return self->become_intercepted();
                         self->become_tunnel();
                     });
}

/// The tunnel's requests go to the CONNECT's host as this agent. Most clients speak TLS in it,
/// but some (undici's EnvHttpProxyAgent) tunnel http:// URLs too and send a plain request line:
/// those are served as plain HTTP to the CONNECT authority, through the same paying path.
void session::become_intercepted() {
    tunnel_agent_ = ex_.request.agent;
    tunnel_ = ex_.request.dest;
    do_sniff_tunnel();
}

void session::do_sniff_tunnel() {
    const auto* first = static_cast<const char*>(buffer_.data().data());
    switch (detail::sniff_tunnel(std::string_view(first, buffer_.size()))) {
        case detail::tunnel_sniff::tls:
            if (!leaf_ctx_) return refuse_tunnel_tls();
            return start_tunnel_tls();
        case detail::tunnel_sniff::http:
            tunnel_->tls = false;
            return do_read_request();
        case detail::tunnel_sniff::unknown:
            return send_error(http::status::bad_request,
                              "tunnel to " + tunnel_->authority() +
                                  " carries neither TLS nor an HTTP/1.x request",
                              true);
        case detail::tunnel_sniff::need_more: break;
    }
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    client_.lowest().async_read_some(
        buffer_.prepare(idle_read_size),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            self->buffer_.commit(n);
            if (ec) return self->close_client();
            self->do_sniff_tunnel();
        });
}

/// TLS in a tunnel needs a leaf minted by the interception CA, and none is loaded. The agent is
/// past its CONNECT answer and waits for a ServerHello, where an HTTP error would read as
/// garbage: it gets a TLS alert (internal_error), and the access log says why.
void session::refuse_tunnel_tls() {
    ex_.response.status = 502;
    ex_.log_fields["error"] = "cannot intercept " + tunnel_->host + ": no CA loaded";
    log_exchange();
    static constexpr unsigned char internal_error_alert[] = {0x15, 0x03, 0x03, 0x00,
                                                             0x02, 0x02, 0x50};
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    net::async_write(client_.lowest(), net::buffer(internal_error_alert),
                     [self = shared_from_this()](boost::system::error_code, std::size_t) {
                         self->close_client(true);
                     });
}

/// TLS with the minted leaf, using any bytes already read past the CONNECT head (the agent's
/// ClientHello), then origin-form requests.
void session::start_tunnel_tls() {
    client_.wrap_in_tls(*leaf_ctx_);
    client_.lowest().expires_after(ms(cfg_->upstream_timeout_ms));
    client_.tls().async_handshake(
        ssl::stream_base::server, buffer_.data(),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t used) {
            self->buffer_.consume(used);
            if (ec) return self->close_client();
            self->do_read_request();
        });
}

void session::become_tunnel() {
    closed_ = true;  // the sockets move to the tunnel
    detail::log_line line;
    if (srv_.log.enabled()) {
        line.add("time", detail::access_log::now_iso8601())
            .add("agent", ex_.request.agent)
            .add("client", client_endpoint_)
            .add("method", "CONNECT")
            .add("host", ex_.request.dest.host)
            .add("url", ex_.request.dest.authority())
            .add("status", 200)
            .add("tunnel", true);
    }
    client_.lowest().expires_never();
    tunnel_up_->expires_never();
    std::make_shared<tunnel>(srv_, worker_, client_.lowest().release_socket(),
                             tunnel_up_->release_socket(), std::move(buffer_), std::move(line))
        ->start();
}

}  // namespace purser::proxy
