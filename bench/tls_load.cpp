// tls_load: wrk for intercepted HTTPS. wrk cannot send CONNECT, and a relay in front of each
// proxy (socat forks a process per connection) costs CPU on the same machine and caps a new
// connection per request at the relay's own rate. This client opens the tunnel itself: TCP
// connect, CONNECT to the proxy, a full TLS handshake through the tunnel (no session resumed, no
// certificate verified: the proxies mint their own), then GETs. Without --proxy it speaks TLS to
// the origin directly (the `direct` row).
//
// usage: tls_load --origin PORT [--proxy PORT] [--path /1k.bin] [--connections 64]
//                 [--threads 2] [--duration 2] [--close]
// --close: a new connection and handshake per request (Connection: close), latency measured from
// the TCP connect; otherwise keep-alive, latency from the request's first byte.
// It prints wrk's summary lines (bench/peers/report.py reads both).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using error_code = boost::system::error_code;

struct options {
    unsigned origin_port = 0;
    unsigned proxy_port = 0;  ///< 0: straight to the origin
    std::string path = "/1k.bin";
    unsigned connections = 64;
    unsigned threads = 2;
    unsigned duration_s = 2;
    bool close = false;
};

/// One thread's counts; merged at the end.
struct tally {
    std::vector<std::uint32_t> latency_us;
    std::size_t connect_errors = 0, read_errors = 0, write_errors = 0, timeouts = 0;
    std::size_t non_2xx = 0;
};

constexpr auto io_timeout = std::chrono::seconds(5);

/// One client connection, looping until the deadline: (re)connect, tunnel, handshake, GET.
class client : public std::enable_shared_from_this<client> {
public:
    client(net::io_context& io, ssl::context& tls, const options& o, tcp::endpoint first_hop,
           clock_type::time_point deadline, tally& t)
        : io_(io), tls_(tls), o_(o), first_hop_(first_hop), deadline_(deadline), t_(t) {
        const std::string authority = "127.0.0.1:" + std::to_string(o.origin_port);
        connect_request_ = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
        request_ = "GET " + o.path + " HTTP/1.1\r\nHost: " + authority + "\r\n" +
                   (o.close ? "Connection: close\r\n" : "") + "\r\n";
    }

    void start() {
        if (clock_type::now() >= deadline_) return;
        stream_.reset();
        tunnel_buffer_.consume(tunnel_buffer_.size());
        buffer_.clear();
        stream_.emplace(beast::tcp_stream(io_), tls_);
        begun_ = clock_type::now();
        tcp_().expires_after(io_timeout);
        tcp_().async_connect(first_hop_, [self = shared_from_this()](error_code ec) {
            if (ec) return self->failed(ec, self->t_.connect_errors);
            self->tcp_().socket().set_option(tcp::no_delay(true), ec);
            if (self->o_.proxy_port == 0) return self->handshake();
            self->open_tunnel();
        });
    }

private:
    beast::tcp_stream& tcp_() { return beast::get_lowest_layer(*stream_); }

    void open_tunnel() {
        net::async_write(tcp_(), net::buffer(connect_request_),
                         [self = shared_from_this()](error_code ec, std::size_t) {
                             if (ec) return self->failed(ec, self->t_.write_errors);
                             net::async_read_until(
                                 self->tcp_(), self->tunnel_buffer_, "\r\n\r\n",
                                 [self](error_code ec2, std::size_t n) {
                                     if (ec2) return self->failed(ec2, self->t_.read_errors);
                                     // The proxy's answer ends the head; nothing may follow it
                                     // before our ClientHello.
                                     const std::string_view head(
                                         static_cast<const char*>(self->tunnel_buffer_.data().data()), n);
                                     if (head.substr(0, 12) != "HTTP/1.1 200" &&
                                         head.substr(0, 12) != "HTTP/1.0 200") {
                                         ++self->t_.non_2xx;
                                         return self->start();
                                     }
                                     self->handshake();
                                 });
                         });
    }

    void handshake() {
        stream_->async_handshake(ssl::stream_base::client, [self = shared_from_this()](error_code ec) {
            if (ec) return self->failed(ec, self->t_.read_errors);
            self->send();
        });
    }

    void send() {
        if (!o_.close) begun_ = clock_type::now();
        tcp_().expires_after(io_timeout);
        net::async_write(*stream_, net::buffer(request_), [self = shared_from_this()](error_code ec, std::size_t) {
            if (ec) return self->failed(ec, self->t_.write_errors);
            self->parser_.emplace();
            self->parser_->body_limit(64u << 20);
            http::async_read(*self->stream_, self->buffer_, *self->parser_,
                             [self](error_code ec2, std::size_t) { self->answered(ec2); });
        });
    }

    void answered(error_code ec) {
        if (ec) return failed(ec, t_.read_errors);
        const auto now = clock_type::now();
        const unsigned status = parser_->get().result_int();
        const bool keep = parser_->get().keep_alive();
        if (now < deadline_) {
            if (status < 200 || status > 399) ++t_.non_2xx;
            t_.latency_us.push_back(static_cast<std::uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(now - begun_).count()));
        }
        if (now >= deadline_) return;
        // A close without TLS close_notify, as wrk does: the origin closes after the answer.
        if (o_.close || !keep) return start();
        send();
    }

    void failed(error_code ec, std::size_t& kind) {
        if (clock_type::now() >= deadline_) return;
        ++(ec == beast::error::timeout ? t_.timeouts : kind);
        start();
    }

    net::io_context& io_;
    ssl::context& tls_;
    const options& o_;
    tcp::endpoint first_hop_;
    clock_type::time_point deadline_;
    tally& t_;
    std::string connect_request_, request_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
    net::streambuf tunnel_buffer_;
    beast::flat_buffer buffer_;
    std::optional<http::response_parser<http::string_body>> parser_;
    clock_type::time_point begun_;
};

std::string format_latency(double us) {
    char out[32];
    if (us < 1000) std::snprintf(out, sizeof out, "%.2fus", us);
    else if (us < 1'000'000) std::snprintf(out, sizeof out, "%.2fms", us / 1000);
    else std::snprintf(out, sizeof out, "%.2fs", us / 1'000'000);
    return out;
}

[[noreturn]] void usage() {
    std::fputs("usage: tls_load --origin PORT [--proxy PORT] [--path P] [--connections N] "
               "[--threads N] [--duration S] [--close]\n", stderr);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        auto number = [&]() -> unsigned {
            const std::string v = value();
            char* end = nullptr;
            const unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || n == 0 || n > 1'000'000) usage();
            return static_cast<unsigned>(n);
        };
        if (a == "--origin") o.origin_port = number();
        else if (a == "--proxy") o.proxy_port = number();
        else if (a == "--path") o.path = value();
        else if (a == "--connections") o.connections = number();
        else if (a == "--threads") o.threads = number();
        else if (a == "--duration") o.duration_s = number();
        else if (a == "--close") o.close = true;
        else usage();
    }
    if (o.origin_port == 0 || o.origin_port > 65535 || o.proxy_port > 65535) usage();
    o.threads = std::min(o.threads, o.connections);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    ssl::context tls(ssl::context::tls_client);
    tls.set_verify_mode(ssl::verify_none);
    // Each connection a full handshake: no client session cache (OpenSSL's default for clients).
    const tcp::endpoint first_hop(net::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(o.proxy_port ? o.proxy_port : o.origin_port));

    std::vector<tally> tallies(o.threads);
    std::vector<std::unique_ptr<net::io_context>> loops;
    for (unsigned i = 0; i < o.threads; ++i) loops.push_back(std::make_unique<net::io_context>(1));
    const auto begun = clock_type::now();
    const auto deadline = begun + std::chrono::seconds(o.duration_s);
    for (unsigned c = 0; c < o.connections; ++c) {
        const unsigned t = c % o.threads;
        std::make_shared<client>(*loops[t], tls, o, first_hop, deadline, tallies[t])->start();
    }
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < o.threads; ++i) threads.emplace_back([&, i] { loops[i]->run(); });
    for (auto& th : threads) th.join();

    tally all;
    for (auto& t : tallies) {
        all.latency_us.insert(all.latency_us.end(), t.latency_us.begin(), t.latency_us.end());
        all.connect_errors += t.connect_errors;
        all.read_errors += t.read_errors;
        all.write_errors += t.write_errors;
        all.timeouts += t.timeouts;
        all.non_2xx += t.non_2xx;
    }
    std::sort(all.latency_us.begin(), all.latency_us.end());
    const double seconds = static_cast<double>(o.duration_s);
    std::printf("Running %us test @ https://127.0.0.1:%u%s %s\n", o.duration_s, o.origin_port,
                o.path.c_str(), o.proxy_port ? ("through the proxy on " + std::to_string(o.proxy_port)).c_str()
                                             : "direct");
    std::printf("  %u threads and %u connections, %s\n", o.threads, o.connections,
                o.close ? "a new connection and full handshake per request" : "keep-alive");
    std::printf("  Latency Distribution\n");
    for (const double q : {0.50, 0.75, 0.90, 0.99}) {
        if (all.latency_us.empty()) break;
        const auto at = std::min(all.latency_us.size() - 1,
                                 static_cast<std::size_t>(q * static_cast<double>(all.latency_us.size())));
        std::printf("  %3.0f%% %10s\n", q * 100, format_latency(all.latency_us[at]).c_str());
    }
    std::printf("  %zu requests in %.2fs\n", all.latency_us.size(), seconds);
    if (all.connect_errors + all.read_errors + all.write_errors + all.timeouts > 0)
        std::printf("  Socket errors: connect %zu, read %zu, write %zu, timeout %zu\n", all.connect_errors,
                    all.read_errors, all.write_errors, all.timeouts);
    if (all.non_2xx > 0) std::printf("  Non-2xx or 3xx responses: %zu\n", all.non_2xx);
    std::printf("Requests/sec: %10.2f\n", static_cast<double>(all.latency_us.size()) / seconds);
    return all.latency_us.empty() ? 1 : 0;
}
