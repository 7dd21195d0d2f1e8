// The proxy server. Completion-handler style throughout (STYLE §4): every connection object lives
// in a shared_ptr kept alive by its pending operations, runs on its own strand, and its upstream
// connections share that strand, so nothing inside a connection needs a lock.
#include "purser/proxy/server.hpp"

#include <limits>
#include <utility>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "access_log.hpp"
#include "purser/proxy/detail/http_util.hpp"
#include "purser/proxy/errc.hpp"

namespace purser::proxy {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using ms = std::chrono::milliseconds;

namespace {

/// What stop() tells every live connection.
class session_base {
public:
    virtual ~session_base() = default;
    /// Runs on the connection's strand. Idle connections close; busy ones finish the current
    /// request and then close.
    virtual void on_stop() = 0;
    /// The connection's strand.
    [[nodiscard]] virtual net::any_io_executor executor() = 0;
};

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    net::ip::make_address(host, ec);
    return !ec;
}

std::string field_value(const http::fields& f, std::string_view name) {
    const auto it = f.find(name);
    return it == f.end() ? std::string() : std::string(it->value());
}

header_list to_header_list(const http::fields& f) {
    header_list out;
    for (const auto& h : f) out.emplace_back(std::string(h.name_string()), std::string(h.value()));
    return out;
}

void strip_hop_by_hop(http::fields& f) {
    for (const auto& name : detail::hop_by_hop_names(field_value(f, "connection"))) f.erase(name);
}

}  // namespace

struct server::impl {
    std::shared_ptr<const config> cfg;
    std::shared_ptr<payment_hook> hook;
    std::shared_ptr<authenticator> auth;
    std::shared_ptr<const cert_authority> ca;
    detail::access_log log;

    std::atomic<bool> stopping{false};
    std::atomic<long> active{0};

    std::mutex sessions_mutex;
    std::vector<std::weak_ptr<session_base>> sessions;

    std::mutex leaf_mutex;
    std::map<std::string, std::shared_ptr<ssl::context>> leaf_contexts;

    // Declared after everything a connection touches in its destructor, so the io_context (which
    // destroys pending handlers and the connections they hold) goes first.
    ssl::context upstream_tls{ssl::context::tls_client};
    net::thread_pool workers{2};
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    net::steady_timer drain_timer{ioc};
    std::chrono::steady_clock::time_point drain_deadline;

    void register_session(const std::shared_ptr<session_base>& s) {
        const std::lock_guard lock(sessions_mutex);
        if (sessions.size() > 64 && sessions.size() % 64 == 0)
            std::erase_if(sessions, [](const auto& w) { return w.expired(); });
        sessions.push_back(s);
    }

    /// The TLS server context for an intercepted host: a leaf minted on first use and cached.
    std::shared_ptr<ssl::context> leaf_context(const std::string& host, std::string& why) {
        const std::lock_guard lock(leaf_mutex);
        if (auto it = leaf_contexts.find(host); it != leaf_contexts.end()) return it->second;
        auto leaf = ca->mint(host);
        if (!leaf) {
            why = leaf.error().message();
            return nullptr;
        }
        auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
        if (SSL_CTX_use_certificate(ctx->native_handle(), leaf->cert.get()) != 1 ||
            SSL_CTX_use_PrivateKey(ctx->native_handle(), leaf->key.get()) != 1) {
            ERR_clear_error();
            why = "cannot load the minted certificate";
            return nullptr;
        }
        // Bounded: a client that CONNECTs to endless names must not grow memory forever.
        if (leaf_contexts.size() >= 4096) leaf_contexts.clear();
        leaf_contexts.emplace(host, ctx);
        return ctx;
    }

    void do_accept();
    void on_accept(boost::system::error_code ec, tcp::socket socket);
    void check_drain();
};

namespace {

/// One connection to an origin, plain or TLS, owned by exactly one client connection at a time.
struct upstream {
    std::string key;  // "http://host:port" or "https://host:port"
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    bool reused = false;

    beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
    template <class F>
    void visit(F&& f) {
        if (secure) f(*secure);
        else f(*plain);
    }
};

/// A CONNECT to a host that is not intercepted: bytes both ways until either side ends or the
/// tunnel is silent for idle_timeout_ms.
class tunnel : public session_base, public std::enable_shared_from_this<tunnel> {
public:
    tunnel(server::impl& srv, tcp::socket client, tcp::socket origin, beast::flat_buffer leftover,
           nlohmann::json log_line)
        : srv_(srv), client_(std::move(client)), origin_(std::move(origin)),
          leftover_(std::move(leftover)), timer_(client_.get_executor()),
          log_line_(std::move(log_line)), start_(std::chrono::steady_clock::now()) {
        ++srv_.active;
    }
    ~tunnel() override {
        log_line_["bytes_up"] = bytes_up_;
        log_line_["bytes_down"] = bytes_down_;
        log_line_["latency_ms"] = std::chrono::duration_cast<ms>(
                                      std::chrono::steady_clock::now() - start_).count();
        srv_.log.write(log_line_);
        --srv_.active;
    }

    void start() {
        srv_.register_session(shared_from_this());
        touch();
        do_idle_check();
        // Bytes the client sent right after the CONNECT head (often the TLS ClientHello) were
        // read into the HTTP buffer; they go first.
        if (leftover_.size() > 0) {
            bytes_up_ += leftover_.size();
            net::async_write(origin_, leftover_.data(),
                             [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                                 self->leftover_.clear();
                                 if (ec) return self->close();
                                 self->do_read(true);
                             });
        } else {
            do_read(true);
        }
        do_read(false);
    }

    net::any_io_executor executor() override { return client_.get_executor(); }
    void on_stop() override {}  // A tunnel may carry a request we cannot see: let the grace end it.

private:
    void touch() { last_ = std::chrono::steady_clock::now(); }

    void do_idle_check() {
        timer_.expires_after(ms(srv_.cfg->idle_timeout_ms));
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->closed_) return;
            if (std::chrono::steady_clock::now() - self->last_ >= ms(self->srv_.cfg->idle_timeout_ms))
                return self->close();
            self->do_idle_check();
        });
    }

    // up == true: client -> origin.
    void do_read(bool up) {
        auto& from = up ? client_ : origin_;
        auto& buf = up ? up_buf_ : down_buf_;
        from.async_read_some(net::buffer(buf), [self = shared_from_this(), up](
                                                   boost::system::error_code ec, std::size_t n) {
            self->on_read(up, ec, n);
        });
    }

    void on_read(bool up, boost::system::error_code ec, std::size_t n) {
        auto& to = up ? origin_ : client_;
        if (ec) {
            // End of one direction: pass the half-close on; the other direction may still run.
            boost::system::error_code ignored;
            if (ec == net::error::eof && !closed_) {
                to.shutdown(tcp::socket::shutdown_send, ignored);
                if (++eofs_ == 2) close();
                return;
            }
            return close();
        }
        touch();
        (up ? bytes_up_ : bytes_down_) += n;
        auto& buf = up ? up_buf_ : down_buf_;
        net::async_write(to, net::buffer(buf.data(), n),
                         [self = shared_from_this(), up](boost::system::error_code wec, std::size_t) {
                             if (wec) return self->close();
                             self->touch();
                             self->do_read(up);
                         });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        boost::system::error_code ignored;
        client_.close(ignored);
        origin_.close(ignored);
        timer_.cancel();
    }

    server::impl& srv_;
    tcp::socket client_;
    tcp::socket origin_;
    beast::flat_buffer leftover_;
    net::steady_timer timer_;
    nlohmann::json log_line_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_;
    std::array<char, 16384> up_buf_{};
    std::array<char, 16384> down_buf_{};
    std::uint64_t bytes_up_ = 0;
    std::uint64_t bytes_down_ = 0;
    int eofs_ = 0;
    bool closed_ = false;
};

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// One client connection speaking HTTP/1.1: plain (Stream = tcp_stream, absolute-form requests
/// and CONNECT) or inside an intercepted tunnel (Stream = ssl_stream, origin-form requests to
/// the tunnel's host).
template <class Stream>
class http_session : public session_base,
                     public std::enable_shared_from_this<http_session<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

public:
    http_session(server::impl& srv, Stream&& stream, beast::flat_buffer&& buffer)
        : srv_(srv), stream_(std::move(stream)), buffer_(std::move(buffer)),
          resolver_(stream_.get_executor()) {
        ++srv_.active;
    }
    ~http_session() override { --srv_.active; }

    /// Plain connections start reading; tunnels first complete the TLS handshake with the
    /// minted certificate (using bytes already read past the CONNECT head).
    void start(std::string agent = {}, std::optional<detail::origin> tunnel = std::nullopt) {
        srv_.register_session(this->shared_from_this());
        agent_ = std::move(agent);
        tunnel_ = std::move(tunnel);
        if constexpr (is_tls) {
            beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->upstream_timeout_ms));
            stream_.async_handshake(
                ssl::stream_base::server, buffer_.data(),
                [self = this->shared_from_this()](boost::system::error_code ec, std::size_t used) {
                    self->buffer_.consume(used);
                    if (ec) return self->close_client();
                    self->do_read_request();
                });
        } else {
            do_read_request();
        }
    }

    net::any_io_executor executor() override { return stream_.get_executor(); }
    void on_stop() override {
        stopping_ = true;
        if (idle_) close_client();
    }

private:
    // ---------------------------------------------------------------- the agent's request

    void do_read_request() {
        if (stopping_ || srv_.stopping) return close_client();
        ex_ = exchange{};
        req_parser_.emplace();
        req_parser_->header_limit(static_cast<std::uint32_t>(srv_.cfg->max_header_bytes));
        // Bodies past the replay limit stream through. Not boost::none: Boost 1.74 compares a
        // Content-Length against the empty optional as `len > none`, which is always true.
        req_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        idle_ = true;
        beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
        http::async_read_header(stream_, buffer_, *req_parser_,
                                [self = this->shared_from_this()](boost::system::error_code ec,
                                                                  std::size_t) {
                                    self->on_read_header(ec);
                                });
    }

    void on_read_header(boost::system::error_code ec) {
        idle_ = false;
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == net::error::operation_aborted || ec == ssl::error::stream_truncated ||
            ec == net::error::connection_reset || ec == net::error::eof)
            return close_client();
        ex_.start = std::chrono::steady_clock::now();
        auto& req = req_parser_->get();
        ex_.method = std::string(req.method_string());
        // keep_alive() is only defined once the header parsed; a malformed one closes anyway.
        ex_.client_keep_alive = req_parser_->is_header_done() && req_parser_->keep_alive();
        if (ec == http::error::header_limit)
            return send_error(http::status::request_header_fields_too_large,
                              "request headers larger than " +
                                  std::to_string(srv_.cfg->max_header_bytes) + " bytes",
                              true);
        if (ec) return send_error(http::status::bad_request, "malformed request: " + ec.message(), true);

        ex_.url = std::string(req.target());
        if (req.method() == http::verb::connect) {
            if constexpr (is_tls) {
                return send_error(http::status::bad_request, "CONNECT inside a tunnel", true);
            } else {
                if (!authenticate(req)) return;
                return start_connect();
            }
        }

        // Where does it go?
        if constexpr (is_tls) {
            ex_.agent = agent_;  // inherited from the CONNECT that opened the tunnel
            ex_.dest = *tunnel_;
            std::string target(req.target());
            if (target.rfind("https://", 0) == 0) {  // absolute-form inside the tunnel
                const auto slash = target.find('/', 8);
                target = slash == std::string::npos ? "/" : target.substr(slash);
            }
            if (target.empty() || target.front() != '/')
                return send_error(http::status::bad_request, "bad request target", true);
            ex_.dest.target = target;
        } else {
            auto o = detail::parse_absolute_url(req.target());
            if (!o) {
                const bool origin_form = !req.target().empty() && req.target().front() == '/';
                return send_error(http::status::bad_request,
                                  origin_form ? "origin-form request sent to a proxy: use an "
                                                "absolute http:// URL, or CONNECT for https"
                                              : o.error().detail,
                                  true);
            }
            ex_.dest = std::move(*o);
            if (!authenticate(req)) return;
        }
        ex_.url = ex_.dest.url();

        // The request as it will go upstream.
        strip_hop_by_hop(req.base());
        req.erase(http::field::proxy_authorization);
        ex_.expect_continue = detail::iequals(field_value(req.base(), "expect"), "100-continue");
        req.erase(http::field::expect);
        ex_.has_payment_header = req.find("x-payment") != req.end() ||
                                 req.find("payment-signature") != req.end();
        req.target(ex_.dest.target);
        req.version(11);
        if constexpr (!is_tls) {
            const bool default_port = ex_.dest.port == 80;
            const std::string host = ex_.dest.host.find(':') != std::string::npos
                                         ? "[" + ex_.dest.host + "]"
                                         : ex_.dest.host;
            req.set(http::field::host,
                    default_port ? host : host + ":" + std::to_string(ex_.dest.port));
        }
        req.set(http::field::via, append_via(field_value(req.base(), "via")));

        if (ex_.expect_continue && !req_parser_->is_done()) {
            // We buffer the body before talking upstream, so we answer the expectation ourselves.
            beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
            net::async_write(stream_, net::buffer(continue_line),
                             [self = this->shared_from_this()](boost::system::error_code wec,
                                                               std::size_t) {
                                 if (wec) return self->close_client();
                                 self->start_body();
                             });
            return;
        }
        start_body();
    }

    static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

    static std::string append_via(const std::string& existing) {
        return existing.empty() ? "1.1 purser" : existing + ", 1.1 purser";
    }

    /// Sets ex_.agent from Proxy-Authorization or the default agent; answers 407 otherwise.
    bool authenticate(const http::request<http::buffer_body>& req) {
        const auto it = req.find(http::field::proxy_authorization);
        if (it == req.end()) {
            if (srv_.cfg->default_agent) {
                ex_.agent = *srv_.cfg->default_agent;
                return true;
            }
            send_407("proxy credentials required");
            return false;
        }
        const auto creds = detail::decode_basic(it->value());
        std::optional<std::string> agent;
        if (creds && srv_.auth) agent = srv_.auth->authenticate(creds->first, creds->second);
        if (!agent) {
            send_407("proxy credentials not accepted");
            return false;
        }
        ex_.agent = std::move(*agent);
        return true;
    }

    void start_body() {
        auto& p = *req_parser_;
        if (p.is_done()) return on_body_complete();
        if (const auto len = p.content_length(); len && *len > srv_.cfg->max_replay_body) {
            ex_.replayable = false;
            return start_upstream();
        }
        do_read_body();
    }

    void do_read_body() {
        auto& body = req_parser_->get().body();
        body.data = chunk_.data();
        body.size = chunk_.size();
        beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
        http::async_read_some(stream_, buffer_, *req_parser_,
                              [self = this->shared_from_this()](boost::system::error_code ec,
                                                                std::size_t) {
                                  self->on_read_body(ec);
                              });
    }

    void on_read_body(boost::system::error_code ec) {
        if (ec == http::error::need_buffer) ec = {};
        if (ec) {
            if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
                ec == net::error::eof)
                return close_client();
            return send_error(http::status::bad_request, "malformed request body: " + ec.message(),
                              true);
        }
        auto& body = req_parser_->get().body();
        ex_.body.append(chunk_.data(), chunk_.size() - body.size);
        if (ex_.body.size() > srv_.cfg->max_replay_body) {
            // Too big to keep: what we have goes first, the rest streams from the agent.
            ex_.replayable = false;
            ex_.prefix = std::move(ex_.body);
            ex_.body.clear();
            return start_upstream();
        }
        if (req_parser_->is_done()) return on_body_complete();
        do_read_body();
    }

    void on_body_complete() {
        auto& src = req_parser_->get();
        ex_.req = {};
        ex_.req.base() = src.base();
        ex_.req.body() = std::move(ex_.body);
        ex_.req.chunked(false);
        ex_.req.prepare_payload();
        if (ex_.req.body().empty() &&
            (src.method() == http::verb::get || src.method() == http::verb::head ||
             src.method() == http::verb::delete_ || src.method() == http::verb::options))
            ex_.req.erase(http::field::content_length);
        start_upstream();
    }

    request_info make_info() const {
        request_info info;
        info.agent = ex_.agent;
        info.method = ex_.method;
        info.url = ex_.url;
        info.host = ex_.dest.host;
        info.port = ex_.dest.port;
        info.tls = ex_.dest.tls;
        const auto& fields = ex_.replayable ? ex_.req.base() : req_parser_->get().base();
        info.headers = to_header_list(fields);
        info.body_size = ex_.replayable ? ex_.req.body().size() : ex_.prefix_size;
        info.body_replayable = ex_.replayable;
        return info;
    }

    // ---------------------------------------------------------------- upstream connection

    std::string pool_key() const {
        return std::string(ex_.dest.tls ? "https://" : "http://") + ex_.dest.authority();
    }

    /// Takes an idle pooled connection to the origin, or opens a new one. A paid retry always
    /// opens a new one: a stale pooled connection must never make us send a payment twice.
    void start_upstream() {
        const auto key = pool_key();
        if (!ex_.is_retry) {
            auto it = pool_.find(key);
            if (it != pool_.end() && !it->second.empty()) {
                up_ = std::move(it->second.back());
                it->second.pop_back();
                up_->reused = true;
                return send_request();
            }
        }
        up_ = std::make_unique<upstream>();
        up_->key = key;
        if (ex_.dest.tls)
            up_->secure = std::make_unique<tls_stream>(stream_.get_executor(), srv_.upstream_tls);
        else
            up_->plain = std::make_unique<beast::tcp_stream>(stream_.get_executor());
        resolver_.async_resolve(
            ex_.dest.host, std::to_string(ex_.dest.port),
            [self = this->shared_from_this()](boost::system::error_code ec,
                                              tcp::resolver::results_type results) {
                if (ec)
                    return self->upstream_failed(http::status::bad_gateway,
                                                 "cannot resolve " + self->ex_.dest.host + ": " +
                                                     ec.message());
                self->up_->lowest().expires_after(ms(self->srv_.cfg->upstream_timeout_ms));
                self->up_->lowest().async_connect(
                    results, [self](boost::system::error_code cec, const tcp::endpoint&) {
                        self->on_upstream_connect(cec);
                    });
            });
    }

    void on_upstream_connect(boost::system::error_code ec) {
        if (ec == beast::error::timeout)
            return upstream_failed(http::status::gateway_timeout,
                                   "connecting to " + ex_.dest.authority() + " timed out");
        if (ec)
            return upstream_failed(http::status::bad_gateway,
                                   "cannot connect to " + ex_.dest.authority() + ": " + ec.message());
        if (!up_->secure) return send_request();
        SSL* ssl_handle = up_->secure->native_handle();
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
        const bool ip = is_ip_literal(ex_.dest.host);
        // SNI carries names only; the peer check is by IP SAN or host name (RFC 6125).
        // SSL_set_tlsext_host_name is a macro with a C cast; this is the call it expands to.
        if ((!ip && SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                             const_cast<char*>(ex_.dest.host.c_str())) != 1) ||
            (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ex_.dest.host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, ex_.dest.host.c_str(), 0)) != 1) {
            ERR_clear_error();
            return upstream_failed(http::status::bad_gateway, "cannot set up TLS for " + ex_.dest.host);
        }
        up_->secure->set_verify_mode(ssl::verify_peer);
        up_->lowest().expires_after(ms(srv_.cfg->upstream_timeout_ms));
        up_->secure->async_handshake(
            ssl::stream_base::client,
            [self = this->shared_from_this()](boost::system::error_code hec) {
                if (hec == beast::error::timeout)
                    return self->upstream_failed(http::status::gateway_timeout,
                                                 "TLS handshake with " +
                                                     self->ex_.dest.authority() + " timed out");
                if (hec) {
                    const long v = SSL_get_verify_result(self->up_->secure->native_handle());
                    std::string why = v != X509_V_OK ? X509_verify_cert_error_string(v)
                                                     : hec.message();
                    ERR_clear_error();
                    return self->upstream_failed(http::status::bad_gateway,
                                                 "TLS to " + self->ex_.dest.authority() +
                                                     " failed: " + why);
                }
                self->send_request();
            });
    }

    void send_request() {
        up_->lowest().expires_after(ms(srv_.cfg->upstream_timeout_ms));
        if (ex_.replayable) {
            up_->visit([&](auto& s) {
                http::async_write(s, ex_.req,
                                  [self = this->shared_from_this()](boost::system::error_code ec,
                                                                    std::size_t) {
                                      if (ec) return self->on_send_failed(ec);
                                      self->read_response_header();
                                  });
            });
            return;
        }
        // Streaming: the agent's head (already cleaned), then what was buffered, then the rest.
        req_sr_.emplace(req_parser_->get());
        up_->visit([&](auto& s) {
            http::async_write_header(s, *req_sr_,
                                     [self = this->shared_from_this()](
                                         boost::system::error_code ec, std::size_t) {
                                         if (ec) return self->on_send_failed(ec);
                                         self->ex_.prefix_size = self->ex_.prefix.size();
                                         self->stream_request_next();
                                     });
        });
    }

    void on_send_failed(boost::system::error_code ec) {
        if (up_->reused && ex_.replayable && !ex_.is_retry) {
            // The origin closed a pooled connection between requests; nothing was processed.
            up_.reset();
            return start_upstream_fresh();
        }
        if (ec == beast::error::timeout)
            return upstream_failed(http::status::gateway_timeout,
                                   "sending to " + ex_.dest.authority() + " timed out");
        upstream_failed(http::status::bad_gateway,
                        "sending to " + ex_.dest.authority() + " failed: " + ec.message());
    }

    void start_upstream_fresh() {
        pool_.erase(pool_key());  // its siblings are probably stale too
        start_upstream();
    }

    void stream_request_next() {
        auto& p = *req_parser_;
        auto& body = p.get().body();
        if (!ex_.prefix.empty() && !ex_.prefix_sent) {
            ex_.prefix_sent = true;
            body.data = ex_.prefix.data();
            body.size = ex_.prefix.size();
            body.more = !p.is_done();
            return stream_request_write();
        }
        if (p.is_done()) {
            body.data = nullptr;
            body.size = 0;
            body.more = false;
            return stream_request_write();
        }
        body.data = chunk_.data();
        body.size = chunk_.size();
        beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
        http::async_read_some(
            stream_, buffer_, p,
            [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec == http::error::need_buffer) ec = {};
                if (ec) return self->abort_both();
                auto& b = self->req_parser_->get().body();
                const std::size_t got = self->chunk_.size() - b.size;
                self->ex_.prefix_size += got;
                b.data = self->chunk_.data();
                b.size = got;
                b.more = !self->req_parser_->is_done();
                if (got == 0 && b.more) return self->stream_request_next();
                self->stream_request_write();
            });
    }

    void stream_request_write() {
        up_->lowest().expires_after(ms(srv_.cfg->upstream_timeout_ms));
        up_->visit([&](auto& s) {
            http::async_write(s, *req_sr_,
                              [self = this->shared_from_this()](boost::system::error_code ec,
                                                                std::size_t) {
                                  if (ec == http::error::need_buffer) ec = {};
                                  if (ec) return self->abort_both();
                                  if (self->req_sr_->is_done()) {
                                      self->ex_.prefix.clear();  // the response may need it
                                      self->ex_.prefix_sent = false;
                                      return self->read_response_header();
                                  }
                                  self->stream_request_next();
                              });
        });
    }

    // ---------------------------------------------------------------- upstream response

    void read_response_header() {
        res_parser_.emplace();
        res_parser_->header_limit(static_cast<std::uint32_t>(srv_.cfg->max_header_bytes));
        res_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // see the request parser
        if (ex_.method == "HEAD") res_parser_->skip(true);
        up_->lowest().expires_after(ms(srv_.cfg->upstream_timeout_ms));
        up_->visit([&](auto& s) {
            http::async_read_header(s, up_->buffer, *res_parser_,
                                    [self = this->shared_from_this()](
                                        boost::system::error_code ec, std::size_t) {
                                        self->on_response_header(ec);
                                    });
        });
    }

    void on_response_header(boost::system::error_code ec) {
        if (ec) {
            const bool nothing_came = ec == http::error::end_of_stream || ec == net::error::eof ||
                                      ec == net::error::connection_reset;
            if (nothing_came && up_->reused && ex_.replayable && !ex_.is_retry) {
                up_.reset();
                return start_upstream_fresh();
            }
            if (ec == beast::error::timeout)
                return upstream_failed(http::status::gateway_timeout,
                                       ex_.dest.authority() + " did not answer within " +
                                           std::to_string(srv_.cfg->upstream_timeout_ms) + " ms");
            if (ec == http::error::header_limit)
                return upstream_failed(http::status::bad_gateway,
                                       "response headers from " + ex_.dest.authority() +
                                           " are too large");
            return upstream_failed(http::status::bad_gateway,
                                   "bad response from " + ex_.dest.authority() + ": " + ec.message());
        }
        auto& res = res_parser_->get();
        ex_.status = res.result_int();
        if (ex_.is_retry) {
            // The hook learns how the paid retry went before the agent sees anything.
            ex_.hook_reported = true;
            net::post(srv_.workers, [self = this->shared_from_this()] {
                auto outcome = self->srv_.hook->on_paid_response(
                    *self->ex_.plan, self->ex_.info, self->ex_.status,
                    to_header_list(self->res_parser_->get().base()));
                net::post(self->stream_.get_executor(),
                          [self, outcome = std::move(outcome)]() mutable {
                              for (auto& h : outcome.add_response_headers)
                                  self->ex_.extra_headers.push_back(std::move(h));
                              for (auto& f : outcome.log_fields)
                                  self->ex_.log_fields[f.first] = f.second;
                              self->start_response();
                          });
            });
            return;
        }
        if (ex_.status == 402 && !ex_.has_payment_header && !res_parser_->is_done())
            return read_402_body();
        if (ex_.status == 402 && !ex_.has_payment_header) return ask_hook();
        start_response();
    }

    void read_402_body() {
        auto& body = res_parser_->get().body();
        body.data = chunk_.data();
        body.size = chunk_.size();
        up_->lowest().expires_after(ms(srv_.cfg->upstream_timeout_ms));
        up_->visit([&](auto& s) {
            http::async_read_some(
                s, up_->buffer, *res_parser_,
                [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                    if (ec == http::error::need_buffer) ec = {};
                    if (ec == beast::error::timeout)
                        return self->upstream_failed(http::status::gateway_timeout,
                                                     "402 body from " +
                                                         self->ex_.dest.authority() + " timed out");
                    if (ec)
                        return self->upstream_failed(http::status::bad_gateway,
                                                     "reading 402 body: " + ec.message());
                    auto& b = self->res_parser_->get().body();
                    self->ex_.body402.append(self->chunk_.data(), self->chunk_.size() - b.size);
                    if (self->ex_.body402.size() > self->srv_.cfg->max_402_body) {
                        // Not an x402 answer we could parse anyway: stream it on unchanged.
                        self->ex_.log_fields["note"] = "402 body over max_402_body, not inspected";
                        self->ex_.prefix = std::move(self->ex_.body402);
                        self->ex_.prefix_sent = false;
                        self->ex_.body402.clear();
                        return self->start_response();
                    }
                    if (self->res_parser_->is_done()) return self->ask_hook();
                    self->read_402_body();
                });
        });
    }

    void ask_hook() {
        ex_.info = make_info();
        net::post(srv_.workers, [self = this->shared_from_this()] {
            upstream_response r;
            r.status = self->ex_.status;
            r.headers = to_header_list(self->res_parser_->get().base());
            r.body = self->ex_.body402;
            auto plan = self->srv_.hook->on_payment_required(self->ex_.info, r);
            net::post(self->stream_.get_executor(), [self, plan = std::move(plan)]() mutable {
                self->on_plan(std::move(plan));
            });
        });
    }

    void on_plan(payment_plan plan) {
        for (auto& f : plan.log_fields) ex_.log_fields[f.first] = f.second;
        switch (plan.what) {
            case payment_plan::action::pass_through: ex_.log_fields["decision"] = "pass_through"; break;
            case payment_plan::action::decline: ex_.log_fields["decision"] = "declined"; break;
            case payment_plan::action::pay: ex_.log_fields["decision"] = "pay"; break;
        }
        if (plan.what != payment_plan::action::pay) {
            ex_.extra_headers = std::move(plan.add_response_headers);
            return send_buffered_402();
        }
        ex_.plan = std::move(plan);
        if (!ex_.replayable) {
            ex_.hook_reported = true;
            net::post(srv_.workers, [self = this->shared_from_this()] {
                self->srv_.hook->on_paid_failure(*self->ex_.plan, self->ex_.info,
                                                 "not sent: request body larger than "
                                                 "max_replay_body");
                net::post(self->stream_.get_executor(), [self] { self->send_buffered_402(); });
            });
            return;
        }
        // The 402 was read completely: its connection can serve someone else.
        release_upstream();
        ex_.is_retry = true;
        for (const auto& [name, value] : ex_.plan->add_request_headers) ex_.req.set(name, value);
        ex_.status = 0;
        start_upstream();
    }

    /// The origin's 402, complete and unchanged, plus the hook's headers.
    void send_buffered_402() {
        auto& src = res_parser_->get();
        auto res = std::make_shared<http::response<http::string_body>>();
        res->base() = src.base();
        strip_hop_by_hop(res->base());
        res->erase(http::field::transfer_encoding);
        res->erase(http::field::content_length);
        for (const auto& [name, value] : ex_.extra_headers) res->insert(name, value);
        res->set(http::field::via, append_via(field_value(res->base(), "via")));
        res->body() = std::move(ex_.body402);
        res->version(11);
        res->prepare_payload();
        const bool upstream_reusable = res_parser_->keep_alive();
        res->keep_alive(ex_.client_keep_alive && !stopping_);
        ex_.bytes = res->body().size();
        if (upstream_reusable) release_upstream();
        else up_.reset();
        beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
        http::async_write(stream_, *res,
                          [self = this->shared_from_this(), res](boost::system::error_code ec,
                                                                 std::size_t) {
                              if (ec) return self->abort_both();
                              self->finish_exchange(res->keep_alive());
                          });
    }

    /// Streams the response head and body to the agent as they arrive.
    void start_response() {
        auto& res = res_parser_->get();
        const bool no_body = res_parser_->is_done() && ex_.prefix.empty();
        const bool close_delimited = !no_body && !res.has_content_length() && !res.chunked();
        strip_hop_by_hop(res.base());
        for (const auto& [name, value] : ex_.extra_headers) res.insert(name, value);
        res.set(http::field::via, append_via(field_value(res.base(), "via")));
        res.version(11);
        // A body that ends with the origin's connection is re-framed as chunked, so the agent's
        // connection can stay open and still see where it ends.
        if (close_delimited) res.chunked(true);
        res.keep_alive(ex_.client_keep_alive && !stopping_);
        ex_.response_keep_alive = res.keep_alive();
        res_sr_.emplace(res);
        beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
        ex_.head_sent = true;
        http::async_write_header(stream_, *res_sr_,
                                 [self = this->shared_from_this(), no_body](
                                     boost::system::error_code ec, std::size_t) {
                                     if (ec) return self->abort_both();
                                     if (no_body && self->ex_.method == "HEAD")
                                         return self->on_response_done();
                                     self->relay_next();
                                 });
    }

    void relay_next() {
        auto& p = *res_parser_;
        auto& body = p.get().body();
        if (!ex_.prefix.empty() && !ex_.prefix_sent) {
            ex_.prefix_sent = true;
            body.data = ex_.prefix.data();
            body.size = ex_.prefix.size();
            body.more = !p.is_done();
            ex_.bytes += ex_.prefix.size();
            return relay_write();
        }
        if (p.is_done()) {
            body.data = nullptr;
            body.size = 0;
            body.more = false;
            return relay_write();
        }
        body.data = chunk_.data();
        body.size = chunk_.size();
        up_->lowest().expires_after(ms(srv_.cfg->idle_timeout_ms));
        up_->visit([&](auto& s) {
            http::async_read_some(
                s, up_->buffer, p,
                [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                    if (ec == http::error::need_buffer) ec = {};
                    if (ec) {
                        self->ex_.log_fields["error"] = "upstream body: " + ec.message();
                        return self->abort_both();
                    }
                    auto& b = self->res_parser_->get().body();
                    const std::size_t got = self->chunk_.size() - b.size;
                    b.data = self->chunk_.data();
                    b.size = got;
                    b.more = !self->res_parser_->is_done();
                    self->ex_.bytes += got;
                    if (got == 0 && b.more) return self->relay_next();
                    self->relay_write();
                });
        });
    }

    void relay_write() {
        beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
        http::async_write(stream_, *res_sr_,
                          [self = this->shared_from_this()](boost::system::error_code ec,
                                                            std::size_t) {
                              if (ec == http::error::need_buffer) ec = {};
                              if (ec) return self->abort_both();
                              if (self->res_sr_->is_done()) return self->on_response_done();
                              self->relay_next();
                          });
    }

    void on_response_done() {
        if (res_parser_->is_done() && res_parser_->keep_alive()) release_upstream();
        else up_.reset();
        finish_exchange(ex_.response_keep_alive);
    }

    // ---------------------------------------------------------------- endings

    void release_upstream() {
        if (!up_) return;
        auto& idle = pool_[up_->key];
        if (idle.size() < srv_.cfg->pool_idle_per_origin && up_->buffer.size() == 0) {
            up_->lowest().expires_never();
            idle.push_back(std::move(up_));
        }
        up_.reset();
    }

    /// An upstream failure before anything reached the agent: 502/504 with a one-line reason.
    /// On a paid retry the hook hears about it first.
    void upstream_failed(http::status status, std::string why) {
        up_.reset();
        if (ex_.is_retry && !ex_.hook_reported) {
            ex_.hook_reported = true;
            net::post(srv_.workers, [self = this->shared_from_this(), status, why]() {
                self->srv_.hook->on_paid_failure(*self->ex_.plan, self->ex_.info, why);
                net::post(self->stream_.get_executor(),
                          [self, status, why] { self->send_error(status, why, false); });
            });
            return;
        }
        send_error(status, why, false);
    }

    void send_407(std::string why) {
        auto res = std::make_shared<http::response<http::string_body>>(
            http::status::proxy_authentication_required, 11);
        res->set(http::field::proxy_authenticate, "Basic realm=\"purser\"");
        write_plain(std::move(res), std::move(why), false);
    }

    void send_error(http::status status, std::string why, bool force_close) {
        auto res = std::make_shared<http::response<http::string_body>>(status, 11);
        write_plain(std::move(res), std::move(why), force_close);
    }

    void write_plain(std::shared_ptr<http::response<http::string_body>> res, std::string why,
                     bool force_close) {
        ex_.status = res->result_int();
        ex_.log_fields["error"] = why;
        res->set(http::field::content_type, "text/plain; charset=utf-8");
        res->set(http::field::via, "1.1 purser");
        res->body() = "purser: " + why + "\n";
        // The connection can carry another request only when this one was read completely.
        const bool can_continue = !force_close && req_parser_ && req_parser_->is_done() &&
                                  ex_.client_keep_alive && !stopping_;
        res->keep_alive(can_continue);
        res->prepare_payload();
        ex_.bytes = res->body().size();
        beast::get_lowest_layer(stream_).expires_after(ms(srv_.cfg->idle_timeout_ms));
        http::async_write(stream_, *res,
                          [self = this->shared_from_this(), res](boost::system::error_code ec,
                                                                 std::size_t) {
                              if (ec) return self->abort_both();
                              self->finish_exchange(res->keep_alive());
                          });
    }

    void log_exchange() {
        if (ex_.logged) return;
        ex_.logged = true;
        nlohmann::json line;
        line["time"] = detail::access_log::now_iso8601();
        line["agent"] = ex_.agent;
        line["method"] = ex_.method;
        line["host"] = ex_.dest.host;
        line["url"] = detail::redact_url(ex_.url);
        line["status"] = ex_.status;
        line["bytes"] = ex_.bytes;
        line["latency_ms"] = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() -
                                                            ex_.start)
                                 .count();
        if (is_tls) line["intercepted"] = true;
        for (const auto& [k, v] : ex_.log_fields)
            if (!line.contains(k)) line[k] = v;
        srv_.log.write(line);
    }

    void finish_exchange(bool keep_alive) {
        log_exchange();
        if (keep_alive && !stopping_ && !srv_.stopping) return do_read_request();
        close_client(true);
    }

    void abort_both() {
        if (ex_.status != 0 || !ex_.method.empty()) log_exchange();
        up_.reset();
        close_client();
    }

    /// `drain`: the agent may still be sending (an error answered before its request was read
    /// in full). Closing a socket with unread bytes makes the kernel send RST, which can destroy
    /// the answer we just wrote before the agent reads it, so we half-close and read what is
    /// left (briefly) before closing.
    void close_client(bool drain = false) {
        if (closed_) return;
        closed_ = true;
        resolver_.cancel();
        if constexpr (is_tls) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
            stream_.async_shutdown([self = this->shared_from_this()](boost::system::error_code) {
                beast::get_lowest_layer(self->stream_).close();
            });
        } else {
            boost::system::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            if (!drain) return stream_.close();
            stream_.expires_after(std::chrono::seconds(1));
            do_drain();
        }
    }

    void do_drain() {
        if constexpr (!is_tls) {
            stream_.async_read_some(net::buffer(chunk_), [self = this->shared_from_this()](
                                                             boost::system::error_code ec,
                                                             std::size_t) {
                if (ec) return self->stream_.close();
                self->do_drain();
            });
        }
    }

    // ---------------------------------------------------------------- CONNECT

    void start_connect() {
        if constexpr (!is_tls) {
            auto hp = detail::parse_authority(req_parser_->get().target());
            if (!hp || hp->second == 0)
                return send_error(http::status::bad_request, "CONNECT needs host:port", true);
            ex_.dest.host = hp->first;
            ex_.dest.port = hp->second;
            ex_.dest.tls = true;
            ex_.url = ex_.dest.authority();
            const bool intercept =
                detail::should_intercept(srv_.cfg->intercept, srv_.cfg->no_intercept, hp->first);
            if (intercept) {
                std::string why = "no CA loaded";
                auto ctx = srv_.ca ? srv_.leaf_context(hp->first, why) : nullptr;
                if (!ctx)
                    return send_error(http::status::bad_gateway,
                                      "cannot intercept " + hp->first + ": " + why, true);
                leaf_ctx_ = std::move(ctx);
                return send_connect_ok(true);
            }
            resolver_.async_resolve(
                ex_.dest.host, std::to_string(ex_.dest.port),
                [self = this->shared_from_this()](boost::system::error_code ec,
                                                  tcp::resolver::results_type results) {
                    if (ec)
                        return self->send_error(http::status::bad_gateway,
                                                "cannot resolve " + self->ex_.dest.host + ": " +
                                                    ec.message(),
                                                true);
                    self->tunnel_up_ = std::make_unique<beast::tcp_stream>(
                        self->stream_.get_executor());
                    self->tunnel_up_->expires_after(ms(self->srv_.cfg->upstream_timeout_ms));
                    self->tunnel_up_->async_connect(
                        results, [self](boost::system::error_code cec, const tcp::endpoint&) {
                            if (cec == beast::error::timeout)
                                return self->send_error(http::status::gateway_timeout,
                                                        "connecting to " +
                                                            self->ex_.dest.authority() +
                                                            " timed out",
                                                        true);
                            if (cec)
                                return self->send_error(http::status::bad_gateway,
                                                        "cannot connect to " +
                                                            self->ex_.dest.authority() + ": " +
                                                            cec.message(),
                                                        true);
                            self->send_connect_ok(false);
                        });
                });
        }
    }

    void send_connect_ok(bool intercept) {
        if constexpr (!is_tls) {
            static constexpr std::string_view ok = "HTTP/1.1 200 Connection established\r\n\r\n";
            stream_.expires_after(ms(srv_.cfg->idle_timeout_ms));
            net::async_write(stream_, net::buffer(ok),
                             [self = this->shared_from_this(), intercept](
                                 boost::system::error_code ec, std::size_t) {
                                 if (ec) return self->close_client();
                                 self->ex_.status = 200;
                                 if (intercept) return self->become_tls();
                                 self->become_tunnel();
                             });
        }
    }

    void become_tls() {
        if constexpr (!is_tls) {
            closed_ = true;  // the stream moves to the TLS session
            stream_.expires_never();
            auto tls = std::make_shared<http_session<tls_stream>>(
                srv_, tls_stream(std::move(stream_), *leaf_ctx_), std::move(buffer_));
            tls->keep_context(leaf_ctx_);
            tls->start(ex_.agent, ex_.dest);
        }
    }

    void become_tunnel() {
        if constexpr (!is_tls) {
            closed_ = true;
            nlohmann::json line;
            line["time"] = detail::access_log::now_iso8601();
            line["agent"] = ex_.agent;
            line["method"] = "CONNECT";
            line["host"] = ex_.dest.host;
            line["url"] = ex_.dest.authority();
            line["status"] = 200;
            line["tunnel"] = true;
            stream_.expires_never();
            tunnel_up_->expires_never();
            auto t = std::make_shared<tunnel>(srv_, stream_.release_socket(),
                                              tunnel_up_->release_socket(), std::move(buffer_),
                                              std::move(line));
            t->start();
        }
    }

public:
    void keep_context(std::shared_ptr<ssl::context> ctx) { leaf_ctx_ = std::move(ctx); }

private:
    /// Everything about the request in progress; reset for each new request.
    struct exchange {
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        std::string agent;
        std::string method;
        std::string url;
        detail::origin dest;
        bool client_keep_alive = false;
        bool expect_continue = false;
        bool has_payment_header = false;
        bool replayable = true;
        std::string body;                 // request body while buffering
        std::string prefix;               // bytes to send before streaming the rest
        bool prefix_sent = false;
        std::size_t prefix_size = 0;      // request body bytes streamed (non-replayable)
        http::request<http::string_body> req;  // the buffered request, replayable byte for byte
        unsigned status = 0;
        std::string body402;
        request_info info;
        std::optional<payment_plan> plan;
        bool is_retry = false;
        bool hook_reported = false;
        bool head_sent = false;
        bool response_keep_alive = false;
        bool logged = false;
        header_list extra_headers;
        std::map<std::string, std::string> log_fields;
        std::uint64_t bytes = 0;
    };

    server::impl& srv_;
    Stream stream_;
    beast::flat_buffer buffer_;
    tcp::resolver resolver_;
    std::optional<http::request_parser<http::buffer_body>> req_parser_;
    std::optional<http::request_serializer<http::buffer_body>> req_sr_;
    std::optional<http::response_parser<http::buffer_body>> res_parser_;
    std::optional<http::response_serializer<http::buffer_body>> res_sr_;
    std::unique_ptr<upstream> up_;
    std::map<std::string, std::vector<std::unique_ptr<upstream>>> pool_;
    std::unique_ptr<beast::tcp_stream> tunnel_up_;
    std::shared_ptr<ssl::context> leaf_ctx_;
    std::array<char, 16384> chunk_{};
    exchange ex_;
    std::string agent_;
    std::optional<detail::origin> tunnel_;
    bool idle_ = false;
    bool stopping_ = false;
    bool closed_ = false;
};

}  // namespace

// ---------------------------------------------------------------- server

void server::impl::do_accept() {
    acceptor.async_accept(net::make_strand(ioc),
                          [this](boost::system::error_code ec, tcp::socket socket) {
                              on_accept(ec, std::move(socket));
                          });
}

void server::impl::on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec && !stopping) {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<http_session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)),
                                                          beast::flat_buffer())
            ->start();
    }
    // Accept errors such as EMFILE are transient: keep accepting.
    if (!stopping) do_accept();
}

void server::impl::check_drain() {
    if (active.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
        ioc.stop();
        return;
    }
    drain_timer.expires_after(ms(20));
    drain_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) check_drain();
    });
}

server::server(std::shared_ptr<const config> cfg, std::shared_ptr<payment_hook> hook,
               std::shared_ptr<authenticator> auth, std::shared_ptr<const cert_authority> ca)
    : impl_(std::make_unique<impl>()) {
    impl_->cfg = std::move(cfg);
    impl_->hook = hook ? std::move(hook) : std::make_shared<pass_through_hook>();
    impl_->auth = std::move(auth);
    impl_->ca = std::move(ca);
}

server::~server() {
    if (impl_) impl_->workers.join();
}

result<std::uint16_t> server::listen() {
    auto& s = *impl_;
    if (auto r = s.log.open(s.cfg->log); !r) return tl::unexpected(r.error());

    boost::system::error_code ec;
    s.upstream_tls.set_default_verify_paths(ec);
    if (ec) return fail(errc::ca_failure, "system trust store: " + ec.message());
    for (const auto& file : s.cfg->upstream_ca) {
        s.upstream_tls.load_verify_file(file.string(), ec);
        if (ec) return fail(errc::ca_failure, "upstream_ca " + file.string() + ": " + ec.message());
    }
    s.upstream_tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                               ssl::context::no_tlsv1_1);

    const auto address = net::ip::make_address(s.cfg->listen_host, ec);
    if (ec) return fail(errc::listen_failed, "listen address " + s.cfg->listen_host + ": " + ec.message());
    const tcp::endpoint endpoint(address, s.cfg->listen_port);
    const std::string where = s.cfg->listen_host + ":" + std::to_string(s.cfg->listen_port);
    if (s.acceptor.open(endpoint.protocol(), ec); ec)
        return fail(errc::listen_failed, where + ": " + ec.message());
    s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (s.acceptor.bind(endpoint, ec); ec) return fail(errc::listen_failed, where + ": " + ec.message());
    if (s.acceptor.listen(net::socket_base::max_listen_connections, ec); ec)
        return fail(errc::listen_failed, where + ": " + ec.message());
    const auto port = s.acceptor.local_endpoint(ec).port();
    if (ec) return fail(errc::listen_failed, where + ": " + ec.message());
    s.do_accept();
    return port;
}

void server::run() {
    auto& s = *impl_;
    unsigned n = s.cfg->threads != 0 ? s.cfg->threads : std::thread::hardware_concurrency();
    if (n == 0) n = 1;
    std::vector<std::thread> threads;
    threads.reserve(n - 1);
    for (unsigned i = 1; i < n; ++i) threads.emplace_back([&s] { s.ioc.run(); });
    s.ioc.run();
    for (auto& t : threads) t.join();
}

void server::stop() {
    auto* s = impl_.get();
    net::post(s->ioc, [s] {
        if (s->stopping.exchange(true)) return;
        boost::system::error_code ignored;
        s->acceptor.close(ignored);
        std::vector<std::shared_ptr<session_base>> live;
        {
            const std::lock_guard lock(s->sessions_mutex);
            for (auto& w : s->sessions)
                if (auto p = w.lock()) live.push_back(std::move(p));
            s->sessions.clear();
        }
        for (auto& p : live) {
            // Each connection hears about it on its own strand.
            auto ex = p->executor();
            net::post(ex, [p] { p->on_stop(); });
        }
        s->drain_deadline = std::chrono::steady_clock::now() + ms(s->cfg->shutdown_grace_ms);
        s->check_drain();
    });
}

}  // namespace purser::proxy
