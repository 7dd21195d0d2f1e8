// Test helpers for the proxy server tests: a small synchronous Beast origin server (plain or
// TLS) that records what it receives, a curl runner, and a raw-socket client.
#pragma once

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "test_support.hpp"

namespace purser::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

/// A one-shot latch: the test and a server thread use it to order events without clocks.
class latch {
public:
    void open() {
        {
            std::lock_guard lock(m_);
            open_ = true;
        }
        cv_.notify_all();
    }
    /// Waits until opened; the bound only keeps a broken test from hanging forever.
    bool wait() {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
    }
    bool is_open() {
        std::lock_guard lock(m_);
        return open_;
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool open_ = false;
};

using request = http::request<http::string_body>;

/// What a handler gets: the request and a writer for raw bytes (for streaming responses).
/// It returns the response to send, or nullopt when it wrote everything itself.
struct origin_context {
    const request& req;
    std::function<void(const std::string&)> write_raw;
};
using origin_handler = std::function<std::optional<http::response<http::string_body>>(origin_context&)>;

/// A listener on 127.0.0.1:0 that runs `serve` on a thread per accepted connection. Destroying
/// it wakes the blocking accept, shuts every connection down and joins every thread, so the
/// owner's state outlives every `serve` call when the acceptor is its last member.
class loopback_acceptor {
public:
    using connection_fn = std::function<void(tcp::socket&)>;
    explicit loopback_acceptor(connection_fn serve) : serve_(std::move(serve)) {
        acceptor_.open(tcp::v4());
        acceptor_.set_option(net::socket_base::reuse_address(true));
        acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~loopback_acceptor() {
        stopping_ = true;
        boost::system::error_code ec;
        // Wake the blocking accept with a throwaway connection, then join everything.
        {
            net::io_context io;
            tcp::socket s(io);
            s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
        }
        accept_thread_.join();
        std::vector<std::thread> threads;
        {
            std::lock_guard lock(m_);
            for (auto& s : sockets_) s->shutdown(tcp::socket::shutdown_both, ec);
            threads = std::move(threads_);
        }
        for (auto& t : threads) t.join();
    }
    loopback_acceptor(const loopback_acceptor&) = delete;
    loopback_acceptor& operator=(const loopback_acceptor&) = delete;

    std::uint16_t port() const { return port_; }
    int connections() const { return connections_; }

private:
    void accept_loop() {
        for (;;) {
            auto sock = std::make_shared<tcp::socket>(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(*sock, ec);
            if (stopping_) return;
            if (ec) continue;
            ++connections_;
            std::lock_guard lock(m_);
            sockets_.push_back(sock);
            threads_.emplace_back([this, sock] { serve_(*sock); });
        }
    }

    connection_fn serve_;
    net::io_context ioc_;
    tcp::acceptor acceptor_{ioc_};
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::thread accept_thread_;
    std::mutex m_;
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
    std::vector<std::thread> threads_;
};

class origin_server {
public:
    /// `tls_ctx` null: plain HTTP. The handler runs on a thread per connection.
    explicit origin_server(origin_handler handler, std::shared_ptr<ssl::context> tls_ctx = nullptr)
        : handler_(std::move(handler)), tls_(std::move(tls_ctx)) {}

    std::uint16_t port() const { return listener_.port(); }
    int connections() const { return listener_.connections(); }
    /// TLS handshakes that resumed an earlier session.
    int resumed() const { return resumed_; }
    std::vector<request> requests() {
        std::lock_guard lock(m_);
        return requests_;
    }

private:
    void on_connection(tcp::socket& sock) {
        if (tls_) {
            ssl::stream<tcp::socket&> s(sock, *tls_);
            boost::system::error_code hec;
            s.handshake(ssl::stream_base::server, hec);
            if (!hec && SSL_session_reused(s.native_handle()) == 1) ++resumed_;
            if (!hec) serve(s);
        } else {
            serve(sock);
        }
    }

    template <class Stream>
    void serve(Stream& s) {
        beast::flat_buffer buf;
        for (;;) {
            request req;
            http::request_parser<http::string_body> p;
            p.body_limit(64u << 20);
            p.header_limit(1u << 20);
            boost::system::error_code ec;
            http::read(s, buf, p, ec);
            if (ec) return;
            req = p.release();
            {
                std::lock_guard lock(m_);
                requests_.push_back(req);
            }
            origin_context ctx{req, [&s](const std::string& bytes) {
                                   boost::system::error_code wec;
                                   net::write(s, net::buffer(bytes), wec);
                               }};
            auto res = handler_(ctx);
            if (!res) return;
            res->version(11);
            res->prepare_payload();
            const bool keep = res->keep_alive() && req.keep_alive();
            http::write(s, *res, ec);
            if (ec || !keep) return;
        }
    }

    origin_handler handler_;
    std::shared_ptr<ssl::context> tls_;
    std::atomic<int> resumed_{0};
    std::mutex m_;
    std::vector<request> requests_;
    loopback_acceptor listener_{[this](tcp::socket& sock) { on_connection(sock); }};
};

/// An origin that works at the byte level, for what a parsing origin would hide: `script` runs on
/// a thread per connection with the socket, and everything read through read_until() is kept, so
/// a test sees exactly which bytes the proxy sent.
class raw_origin {
public:
    using script = std::function<void(tcp::socket&, raw_origin&)>;
    explicit raw_origin(script run) : run_(std::move(run)) {}

    std::uint16_t port() const { return listener_.port(); }
    int connections() const { return listener_.connections(); }
    /// Every byte received so far, all connections in arrival order.
    std::string received() {
        std::lock_guard lock(m_);
        return received_;
    }
    /// Reads from `s` until the bytes received on it since the last call contain `needle` (or
    /// the peer closes: false). The consumed bytes are kept in `pending`, the rest in received().
    bool read_until(tcp::socket& s, std::string& pending, const std::string& needle) {
        return read_while(s, pending, [&] { return pending.find(needle) == std::string::npos; });
    }
    /// Reads until `pending` holds at least `size` bytes (false when the peer closes first).
    bool read_at_least(tcp::socket& s, std::string& pending, std::size_t size) {
        return read_while(s, pending, [&] { return pending.size() < size; });
    }
    /// Waits (bounded) until received() contains `needle`.
    bool wait_received(const std::string& needle) {
        for (int i = 0; i < 1200; ++i) {
            if (received().find(needle) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        return false;
    }

private:
    /// Reads from `s` into `pending` (and received()) while `more()`; false when the peer closes.
    template <class More>
    bool read_while(tcp::socket& s, std::string& pending, More more) {
        char buf[4096];
        while (more()) {
            boost::system::error_code ec;
            const auto n = s.read_some(net::buffer(buf), ec);
            {
                std::lock_guard lock(m_);
                received_.append(buf, n);
            }
            pending.append(buf, n);
            if (ec) return false;
        }
        return true;
    }

    script run_;
    std::mutex m_;
    std::string received_;
    loopback_acceptor listener_{[this](tcp::socket& sock) { run_(sock, *this); }};
};

/// ASCII lower case, for matching header names the way HTTP does (case-insensitively).
inline std::string to_lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

/// An origin that splits what it receives into requests the simple way a naive origin does
/// (the head up to its blank line; then, when the head names a Transfer-Encoding, a chunked body
/// up to its last chunk, else Content-Length bytes), keeps each request's exact bytes, and
/// answers each with the raw response `answer` makes of them. What it parses is what an origin
/// behind the proxy would see as separate requests, so a test can count and read them.
class request_recording_origin {
public:
    using answer_fn = std::function<std::string(const std::string& request_bytes)>;
    explicit request_recording_origin(answer_fn answer) : answer_(std::move(answer)) {}

    std::uint16_t port() const { return origin_.port(); }
    int connections() const { return origin_.connections(); }
    /// Every request parsed so far, all connections, in the order they were parsed.
    std::vector<std::string> requests() {
        std::lock_guard lock(m_);
        return requests_;
    }
    /// Waits (bounded) until the proxy has closed `n` connections to this origin.
    bool wait_closed(int n) {
        for (int i = 0; i < 1200 && closed_ < n; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        return closed_ >= n;
    }

private:
    void serve(tcp::socket& s, raw_origin& o) {
        serve_requests(s, o);
        ++closed_;  // the proxy closed it (or sent what no request can be)
    }

    void serve_requests(tcp::socket& s, raw_origin& o) {
        std::string pending;
        while (o.read_until(s, pending, "\r\n\r\n")) {
            const auto head_end = pending.find("\r\n\r\n") + 4;
            const auto head = to_lower(pending.substr(0, head_end));
            std::string rest = pending.substr(head_end);
            std::size_t body_size = 0;
            const auto cl = head.find("\r\ncontent-length:");
            if (head.find("\r\ntransfer-encoding:") != std::string::npos) {
                if (!o.read_until(s, rest, "0\r\n\r\n")) return;
                body_size = rest.find("0\r\n\r\n") + 5;
            } else if (cl != std::string::npos) {
                body_size = std::stoul(head.substr(cl + 17));
                if (!o.read_at_least(s, rest, body_size)) return;
            }
            const auto bytes = pending.substr(0, head_end) + rest.substr(0, body_size);
            pending = rest.substr(body_size);
            {
                std::lock_guard lock(m_);
                requests_.push_back(bytes);
            }
            boost::system::error_code ec;
            net::write(s, net::buffer(answer_(bytes)), ec);
        }
    }

    answer_fn answer_;
    std::mutex m_;
    std::vector<std::string> requests_;
    std::atomic<int> closed_{0};
    raw_origin origin_{[this](tcp::socket& s, raw_origin& o) { serve(s, o); }};
};

inline http::response<http::string_body> text_response(unsigned status, std::string body) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = std::move(body);
    return res;
}

/// Runs a shell command and captures stdout and stderr together.
inline command_result run_command(const std::string& cmd) { return run_shell(cmd + " 2>&1"); }

/// curl through a proxy; -i puts the response head in the output. --max-time only keeps a broken
/// test from hanging; no assertion depends on time.
inline command_result curl(const std::string& args) {
    return run_command("curl -sS -i --max-time 30 --noproxy '' " + args);
}

/// The status of the last response head in curl -i output (after any CONNECT answer).
inline int last_status(const std::string& out) {
    int status = -1;
    std::size_t pos = 0;
    while ((pos = out.find("HTTP/1.1 ", pos)) != std::string::npos) {
        if (pos == 0 || out[pos - 1] == '\n') status = std::atoi(out.c_str() + pos + 9);
        pos += 9;
    }
    return status;
}

/// Sends raw bytes to 127.0.0.1:port and returns everything read until the peer closes or the
/// first response head and `body_bytes` are in.
inline std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
    net::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    net::write(s, net::buffer(bytes));
    std::string out;
    char buf[4096];
    boost::system::error_code ec;
    for (;;) {
        const auto n = s.read_some(net::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
        // Enough once a complete head with a Content-Length body is in.
        const auto end = out.find("\r\n\r\n");
        if (end != std::string::npos) {
            const auto cl = out.find("Content-Length: ");
            if (cl != std::string::npos && cl < end) {
                const auto len = std::stoul(out.substr(cl + 16));
                if (out.size() >= end + 4 + len) break;
            }
        }
    }
    return out;
}

}  // namespace purser::test
