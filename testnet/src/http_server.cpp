// Blocking HTTP server: an accept thread plus one thread per open connection. Simple to reason
// about and plenty for a local test world; stop() shuts sockets down at the OS level, which wakes
// any thread blocked on them. Connection threads are reused, not created per connection: under
// the paid-path bench (a new connection for every facilitator call) creating and unmapping
// threads was about half of the testnet's CPU.
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

#include "purser/testnet/errc.hpp"
#include "purser/testnet/http.hpp"

namespace purser::testnet {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

std::string http_request::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
}

std::string http_request::path() const { return target.substr(0, target.find('?')); }

struct http_server::impl {
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    http_handler handler;
    std::optional<ssl::context> tls;
    std::thread accept_thread;
    std::mutex mutex;  // guards everything below it
    std::condition_variable work_ready;
    std::deque<std::shared_ptr<tcp::socket>> pending;  // accepted, not yet taken by a worker
    std::set<std::shared_ptr<tcp::socket>> open;       // pending or being served: stop() shuts them
    std::vector<std::thread> workers;
    std::size_t waiting = 0;  // workers blocked in work_ready.wait
    std::atomic<bool> stopping{false};
    std::stop_source stop_source;  ///< Wakes handlers that wait on purpose (http_request::stop).
    std::uint16_t port = 0;

    // Returns false when the handler asked to drop the connection without a word.
    template <class Stream>
    bool serve(Stream& stream, bool is_tls) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(64 * 1024);
            parser.body_limit(1024 * 1024);
            beast::error_code ec;
            http::read(stream, buffer, parser, ec);
            if (ec) return true;  // end_of_stream, shutdown, or garbage: close the connection.
            auto& req = parser.get();
            http_request in;
            in.method = std::string(req.method_string());
            in.target = std::string(req.target());
            in.body = req.body();
            in.tls = is_tls;
            in.stop = stop_source.get_token();
            for (const auto& f : req) {
                std::string name(f.name_string());
                std::transform(name.begin(), name.end(), name.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                in.headers[name] = std::string(f.value());
            }
            http_response out;
            try {
                out = handler(in);
            } catch (const std::exception&) {
                out = http_response{500, {{"Content-Type", "text/plain"}}, "internal error\n", {}};
            }
            if (out.drop_connection) return false;
            const bool keep = req.keep_alive() && !out.stream;
            if (out.stream) {
                http::response<http::empty_body> res{static_cast<http::status>(out.status), 11};
                for (auto& [k, v] : out.headers) res.set(k, v);
                res.chunked(true);
                res.keep_alive(false);
                http::response_serializer<http::empty_body> sr{res};
                http::write_header(stream, sr, ec);
                if (ec) return true;
                chunk_writer write = [&stream](std::string_view data) {
                    beast::error_code wec;
                    if (data.empty()) return true;
                    net::write(stream, http::make_chunk(net::buffer(data.data(), data.size())), wec);
                    return !wec;
                };
                out.stream(write);
                net::write(stream, http::make_chunk_last(), ec);
                return true;
            }
            http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
            for (auto& [k, v] : out.headers) res.set(k, v);
            res.body() = std::move(out.body);
            res.keep_alive(keep);
            res.prepare_payload();
            http::write(stream, res, ec);
            if (ec || !keep) return true;
        }
    }

    void run_connection(std::shared_ptr<tcp::socket> sock) {
        if (tls) {
            ssl::stream<tcp::socket&> stream(*sock, *tls);
            beast::error_code ec;
            stream.handshake(ssl::stream_base::server, ec);
            if (!ec && serve(stream, true)) stream.shutdown(ec);
        } else {
            serve(*sock, false);
        }
        beast::error_code ec;
        sock->shutdown(tcp::socket::shutdown_both, ec);
    }

    void accept_loop() {
        while (!stopping) {
            auto sock = std::make_shared<tcp::socket>(ioc);
            beast::error_code ec;
            acceptor.accept(*sock, ec);
            if (ec) {
                if (stopping) return;
                continue;
            }
            std::lock_guard lock(mutex);
            if (stopping) return;  // stop() has shut the open sockets already; this one closes
            pending.push_back(sock);
            open.insert(sock);
            // Every pending connection needs a worker now (a connection holds its worker until
            // it closes): wake a waiting one, or start one more when all are busy.
            if (waiting >= pending.size()) {
                work_ready.notify_one();
            } else {
                workers.emplace_back([this] { work(); });
            }
        }
    }

    // A worker: serves one connection at a time, then waits for the next, until stop().
    void work() {
        std::unique_lock lock(mutex);
        for (;;) {
            ++waiting;
            work_ready.wait(lock, [this] { return stopping || !pending.empty(); });
            --waiting;
            if (stopping) return;
            auto sock = std::move(pending.front());
            pending.pop_front();
            lock.unlock();
            run_connection(sock);
            lock.lock();
            open.erase(sock);
        }
    }
};

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_server::~http_server() { stop(); }

result<std::unique_ptr<http_server>> http_server::start(std::uint16_t port, http_handler handler,
                                                        std::optional<tls_identity> tls) {
    auto p = std::make_unique<impl>();
    p->handler = std::move(handler);
    if (tls) {
        p->tls.emplace(ssl::context::tls_server);
        beast::error_code ec;
        p->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        p->tls->use_certificate_chain(net::buffer(tls->cert_pem), ec);
        if (ec) return fail(errc::unavailable, "TLS certificate: " + ec.message());
        p->tls->use_private_key(net::buffer(tls->key_pem), ssl::context::pem, ec);
        if (ec) return fail(errc::unavailable, "TLS key: " + ec.message());
    }
    beast::error_code ec;
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    p->acceptor.open(ep.protocol(), ec);
    if (!ec) p->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) p->acceptor.bind(ep, ec);
    if (!ec) p->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return fail(errc::unavailable, "listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
    p->port = p->acceptor.local_endpoint().port();
    auto* raw = p.get();
    p->accept_thread = std::thread([raw] { raw->accept_loop(); });
    return std::unique_ptr<http_server>(new http_server(std::move(p)));
}

std::uint16_t http_server::port() const { return impl_->port; }

std::string http_server::base_url() const {
    return (impl_->tls ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(impl_->port);
}

void http_server::stop() {
    if (!impl_ || impl_->stopping.exchange(true)) return;
    impl_->stop_source.request_stop();
    // shutdown(2) wakes a thread blocked in accept/read on the same descriptor.
    ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
    if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
    std::vector<std::thread> workers;
    {
        std::lock_guard lock(impl_->mutex);
        for (const auto& sock : impl_->open) ::shutdown(sock->native_handle(), SHUT_RDWR);
        workers = std::move(impl_->workers);
    }
    impl_->work_ready.notify_all();
    // Workers take the mutex to finish; none is started any more (the accept thread is gone).
    for (auto& t : workers) t.join();
    impl_->pending.clear();
    impl_->open.clear();
    beast::error_code ec;
    impl_->acceptor.close(ec);
}

}  // namespace purser::testnet
