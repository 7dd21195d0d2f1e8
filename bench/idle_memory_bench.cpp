// What an idle keep-alive client connection costs the proxy in memory. The proxy runs in a child
// process of its own (forked before any thread starts), so its resident set is not mixed with
// the clients' or the origin's. Clients open connections, send one GET each through the proxy
// and keep the connection open; the proxy's VmRSS is read before the first connection and after
// each target count, and the report is the growth per connection.
//
//   idle_memory_bench [count ...]      default: 1000 10000 (cumulative: the same connections)
//
// Needs a descriptor limit above the largest count in both processes (it raises the soft limit
// to the hard one).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "purser/proxy/server.hpp"
#include "purser/testnet/http.hpp"

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}

void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

/// The child: a proxy with the pass-through hook, its port written to `port_fd`. Never returns.
[[noreturn]] void run_proxy(int port_fd, unsigned threads) {
    raise_fd_limit();
    auto cfg = std::make_shared<purser::proxy::config>();
    cfg->listen_port = 0;
    cfg->default_agent = "bench";
    cfg->intercept.clear();
    cfg->log = "/dev/null";
    cfg->max_connections = 1'000'000;
    cfg->idle_timeout_ms = 600'000;
    cfg->threads = threads;
    purser::proxy::server proxy(cfg, nullptr, nullptr, nullptr);
    auto port = proxy.listen();
    const std::uint16_t p = port ? *port : 0;
    if (write(port_fd, &p, sizeof p) != static_cast<ssize_t>(sizeof p)) std::_Exit(1);
    if (!port) std::_Exit(1);
    proxy.run();
    std::_Exit(0);
}

/// One GET through the proxy on `s`, read to the end of its (Content-Length framed) answer.
bool one_request(tcp::socket& s, const std::string& request) {
    boost::system::error_code ec;
    net::write(s, net::buffer(request), ec);
    if (ec) return false;
    net::streambuf in;
    const auto head = net::read_until(s, in, "\r\n\r\n", ec);
    if (ec) return false;
    const std::string text(net::buffers_begin(in.data()),
                           net::buffers_begin(in.data()) + static_cast<long>(head));
    const auto at = text.find("Content-Length: ");
    if (text.rfind("HTTP/1.1 200", 0) != 0 || at == std::string::npos) return false;
    const auto length = std::strtoul(text.c_str() + at + 16, nullptr, 10);
    in.consume(head);
    if (in.size() < length) net::read(s, in, net::transfer_exactly(length - in.size()), ec);
    return !ec;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<unsigned> counts;
    for (int i = 1; i < argc; ++i) counts.push_back(static_cast<unsigned>(std::atoi(argv[i])));
    if (counts.empty()) counts = {1000, 10000};
    std::sort(counts.begin(), counts.end());
    const char* threads_env = std::getenv("PURSER_BENCH_THREADS");
    const unsigned threads = threads_env ? static_cast<unsigned>(std::atoi(threads_env)) : 0;
    raise_fd_limit();

    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return 1;
    const pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        close(pipe_fds[0]);
        run_proxy(pipe_fds[1], threads);
    }
    close(pipe_fds[1]);
    std::uint16_t proxy_port = 0;
    if (read(pipe_fds[0], &proxy_port, sizeof proxy_port) != static_cast<ssize_t>(sizeof proxy_port) ||
        proxy_port == 0) {
        std::fprintf(stderr, "proxy did not start\n");
        return 1;
    }

    auto origin = purser::testnet::http_server::start(0, [](const purser::testnet::http_request&) {
        purser::testnet::http_response res;
        res.headers.emplace_back("Content-Type", "text/plain");
        res.body = std::string(512, 'x');
        return res;
    });
    if (!origin) {
        std::fprintf(stderr, "origin: %s\n", origin.error().message().c_str());
        kill(child, SIGKILL);
        return 1;
    }
    const std::string request = "GET http://127.0.0.1:" + std::to_string((*origin)->port()) +
                                "/idle HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    net::io_context io;
    const tcp::endpoint proxy_at(net::ip::make_address("127.0.0.1"), proxy_port);
    std::vector<std::unique_ptr<tcp::socket>> conns;
    // One connection first, then closed: the proxy's one-time allocations (its pool's origin
    // connection, the loop's first buffers) are then in the baseline, not in the per-connection
    // figure.
    {
        tcp::socket warm(io);
        warm.connect(proxy_at);
        if (!one_request(warm, request)) {
            std::fprintf(stderr, "warm-up request failed\n");
            kill(child, SIGKILL);
            return 1;
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const long base = rss_kib(child);
    std::printf("idle keep-alive connections through the proxy (RSS of the proxy process)\n");
    std::printf("  baseline RSS: %ld KiB\n", base);
    int status = 0;
    for (const unsigned target : counts) {
        while (conns.size() < target) {
            auto s = std::make_unique<tcp::socket>(io);
            boost::system::error_code ec;
            s->connect(proxy_at, ec);
            if (ec || !one_request(*s, request)) {
                std::fprintf(stderr, "connection %zu failed: %s\n", conns.size() + 1,
                             ec ? ec.message().c_str() : "bad answer");
                status = 1;
                break;
            }
            conns.push_back(std::move(s));
        }
        if (status != 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const long rss = rss_kib(child);
        std::printf("  %6u connections: RSS %ld KiB, %.1f KiB per idle connection\n", target, rss,
                    static_cast<double>(rss - base) / static_cast<double>(target));
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    (*origin)->stop();
    return status;
}
