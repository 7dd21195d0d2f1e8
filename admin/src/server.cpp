#include "purser/admin/server.hpp"

#include <atomic>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "purser/proxy/errc.hpp"

namespace purser::admin {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct server::impl : std::enable_shared_from_this<server::impl> {
    server_options options;
    std::shared_ptr<const api> routes;
    net::io_context ioc{1};
    net::executor_work_guard<net::io_context::executor_type> keep{ioc.get_executor()};
    tcp::acceptor acceptor{ioc};
    // Two threads: a freeze that waits for its fsync does not hold up a probe or a scrape.
    net::thread_pool calls{2};
    std::thread thread;
    std::atomic<bool> stopped{false};
    std::size_t active = 0;  // connections; touched on `ioc` only
    bool accept_paused = false;
    std::list<std::weak_ptr<beast::tcp_stream>> streams;  // closed by stop(); on `ioc` only

    void do_accept();
    void connection_closed();
};

namespace {

/// One admin connection: read a request, ask the API on the call pool, write the answer, again.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(std::shared_ptr<server::impl> srv, tcp::socket socket)
        : srv_(std::move(srv)),
          stream_(std::make_shared<beast::tcp_stream>(std::move(socket))) {}
    ~connection() {
        // Posted: the destructor may run inside a handler that the accept chain also reaches.
        net::post(srv_->ioc, [srv = srv_] { srv->connection_closed(); });
    }

    void start() {
        srv_->streams.push_back(stream_);
        do_read();
    }

private:
    void do_read() {
        parser_.emplace();
        parser_->header_limit(16 * 1024);
        parser_->body_limit(srv_->options.max_body_bytes);
        stream_->expires_after(std::chrono::milliseconds(srv_->options.timeout_ms));
        http::async_read(*stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_read(ec);
                         });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::body_limit) return reply_error(413, "request body too large");
        if (ec == http::error::header_limit) return reply_error(431, "request headers too large");
        if (ec) return close();  // end of stream, timeout, garbage: nothing to answer
        auto& req = parser_->get();
        keep_alive_ = req.keep_alive();
        request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        if (auto it = req.find(http::field::authorization); it != req.end())
            r.authorization = std::string(it->value());
        r.body = std::move(req.body());
        net::post(srv_->calls, [self = shared_from_this(), r = std::move(r)] {
            response out = self->srv_->routes->handle(r);
            net::post(self->srv_->ioc, [self, out = std::move(out)]() mutable {
                self->write(std::move(out));
            });
        });
    }

    void reply_error(unsigned status, const std::string& why) {
        keep_alive_ = false;
        response out;
        out.status = status;
        out.body = "{\"error\":\"bad_request\",\"detail\":\"" + why + "\"}\n";
        write(std::move(out));
    }

    void write(response out) {
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(out.status), 11);
        res->set(http::field::content_type, out.content_type);
        res->set(http::field::cache_control, "no-store");
        for (const auto& [k, v] : out.headers) res->set(k, v);
        res->body() = std::move(out.body);
        res->keep_alive(keep_alive_ && !srv_->stopped);
        res->prepare_payload();
        stream_->expires_after(std::chrono::milliseconds(srv_->options.timeout_ms));
        http::async_write(*stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              if (ec || !res->keep_alive()) return self->close();
                              self->do_read();
                          });
    }

    void close() {
        beast::error_code ignored;
        stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_->close();
    }

    std::shared_ptr<server::impl> srv_;
    std::shared_ptr<beast::tcp_stream> stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    bool keep_alive_ = false;
};

}  // namespace

void server::impl::do_accept() {
    if (stopped) return;
    if (active >= options.max_connections) {
        accept_paused = true;  // resumed by connection_closed
        return;
    }
    acceptor.async_accept(ioc, [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
        if (self->stopped || !self->acceptor.is_open()) return;
        if (!ec) {
            ++self->active;
            // Drop streams of connections that are gone, so the list stays as long as the live ones.
            self->streams.remove_if([](const auto& w) { return w.expired(); });
            std::make_shared<connection>(self, std::move(s))->start();
        }
        self->do_accept();
    });
}

void server::impl::connection_closed() {
    --active;
    if (accept_paused && !stopped) {
        accept_paused = false;
        do_accept();
    }
}

server::server(server_options options, std::shared_ptr<const api> routes)
    : impl_(std::make_shared<impl>()) {
    impl_->options = std::move(options);
    impl_->routes = std::move(routes);
}

server::~server() { stop(); }

result<std::uint16_t> server::listen() {
    auto& s = *impl_;
    beast::error_code ec;
    const std::string where = s.options.host + ":" + std::to_string(s.options.port);
    const auto address = net::ip::make_address(s.options.host, ec);
    if (ec) return fail(proxy::errc::listen_failed, "admin_listen " + where + ": " + ec.message());
    const tcp::endpoint endpoint(address, s.options.port);
    if (s.acceptor.open(endpoint.protocol(), ec); ec)
        return fail(proxy::errc::listen_failed, "admin_listen " + where + ": " + ec.message());
    s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (s.acceptor.bind(endpoint, ec); ec)
        return fail(proxy::errc::listen_failed, "admin_listen " + where + ": " + ec.message());
    if (s.acceptor.listen(net::socket_base::max_listen_connections, ec); ec)
        return fail(proxy::errc::listen_failed, "admin_listen " + where + ": " + ec.message());
    const auto port = s.acceptor.local_endpoint(ec).port();
    if (ec) return fail(proxy::errc::listen_failed, "admin_listen " + where + ": " + ec.message());
    return port;
}

void server::start() {
    impl_->do_accept();
    impl_->thread = std::thread([s = impl_] { s->ioc.run(); });
}

void server::stop() {
    auto s = impl_;
    if (s->stopped.exchange(true)) return;
    net::post(s->ioc, [s] {
        beast::error_code ignored;
        s->acceptor.close(ignored);
        for (auto& weak : s->streams)
            if (auto stream = weak.lock()) stream->close();
        s->keep.reset();
    });
    // Calls in progress finish (each is short); their answers are dropped with the loop.
    s->calls.join();
    if (s->thread.joinable()) {
        s->thread.join();
    } else {
        s->keep.reset();
    }
    // Handlers still queued hold the impl; destroying them breaks that cycle.
    s->ioc.stop();
    s->ioc.restart();
    s->ioc.poll();
    s->ioc.stop();
}

}  // namespace purser::admin
