// What forwarding through Purser costs, measured against its in-run peer: the same clients
// talking to the same origin directly. Each client thread keeps one keep-alive connection and
// sends GETs back to back; the report is requests per second, latency percentiles, and the
// ratio of each to the direct path, for a small (1 KiB) and a large (1 MiB) response, and for
// clients that open a new connection for every request. The proxy
// runs in-process with the pass-through hook (no payments), so this is the forwarding path every
// paid request also takes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "http_load.hpp"
#include "purser/proxy/server.hpp"
#include "purser/testnet/http.hpp"

namespace {

using purser::bench::run_stats;

/// The shared driver with this benchmark's shape: `clients` x `per_client` GETs answered 200 with
/// `expected_bytes`.
run_stats drive(std::uint16_t port, const std::string& target, unsigned clients,
                unsigned per_client, std::size_t expected_bytes, bool reconnect = false) {
    purser::bench::load l;
    l.port = port;
    l.target = target;
    l.clients = clients;
    l.per_client = per_client;
    l.expected_bytes = expected_bytes;
    l.reconnect = reconnect;
    return purser::bench::drive(l);
}

void report(const char* name, const run_stats& direct, const run_stats& proxied) {
    std::printf("  %s\n", name);
    std::printf("    direct:        %9.0f req/s   p50 %7.0f us   p99 %7.0f us\n",
                direct.requests_per_second, direct.p50_us, direct.p99_us);
    std::printf("    through proxy: %9.0f req/s   p50 %7.0f us   p99 %7.0f us\n",
                proxied.requests_per_second, proxied.p50_us, proxied.p99_us);
    if (direct.requests_per_second > 0 && proxied.p50_us > 0) {
        std::printf("    proxy/direct:  throughput %.2fx, p50 latency %.2fx\n",
                    proxied.requests_per_second / direct.requests_per_second,
                    proxied.p50_us / direct.p50_us);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const unsigned clients = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 8;
    const unsigned per_client = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 1000;
    const std::string small(1024, 's');
    const std::string large(1u << 20, 'L');

    auto origin = purser::testnet::http_server::start(0, [&](const purser::testnet::http_request& r) {
        purser::testnet::http_response res;
        res.headers.emplace_back("Content-Type", "application/octet-stream");
        res.body = r.path() == "/large" ? large : small;
        return res;
    });
    if (!origin) {
        std::fprintf(stderr, "origin: %s\n", origin.error().message().c_str());
        return 1;
    }
    const auto origin_port = (*origin)->port();

    auto cfg = std::make_shared<purser::proxy::config>();
    cfg->listen_port = 0;
    cfg->default_agent = "bench";
    cfg->intercept.clear();
    cfg->log = "/dev/null";
    purser::proxy::server proxy(cfg, nullptr, nullptr, nullptr);
    auto proxy_port = proxy.listen();
    if (!proxy_port) {
        std::fprintf(stderr, "proxy: %s\n", proxy_port.error().message().c_str());
        return 1;
    }
    std::thread proxy_thread([&] { proxy.run(); });

    const std::string base = "http://127.0.0.1:" + std::to_string(origin_port);
    std::printf("proxy overhead benchmark: %u clients x %u requests each, keep-alive, %u cores\n",
                clients, per_client, std::thread::hardware_concurrency());
    // One short round first on each path so connection set-up and page faults are not measured.
    drive(origin_port, "/small", clients, 20, small.size());
    drive(*proxy_port, base + "/small", clients, 20, small.size());

    const auto small_direct = drive(origin_port, "/small", clients, per_client, small.size());
    const auto small_proxied = drive(*proxy_port, base + "/small", clients, per_client, small.size());
    report("1 KiB responses", small_direct, small_proxied);

    // A new agent connection per request: the proxy still reuses its pooled origin connections,
    // the direct client pays a TCP handshake each time.
    const auto fresh_direct = drive(origin_port, "/small", clients, per_client, small.size(), true);
    const auto fresh_proxied =
        drive(*proxy_port, base + "/small", clients, per_client, small.size(), true);
    report("1 KiB responses, a new client connection per request", fresh_direct, fresh_proxied);

    const unsigned large_count = std::max(1u, per_client / 20);
    const auto large_direct = drive(origin_port, "/large", clients, large_count, large.size());
    const auto large_proxied = drive(*proxy_port, base + "/large", clients, large_count, large.size());
    report("1 MiB responses", large_direct, large_proxied);
    std::printf("    MiB/s direct %.0f, through proxy %.0f\n", large_direct.requests_per_second,
                large_proxied.requests_per_second);

    proxy.stop();
    proxy_thread.join();
    (*origin)->stop();
    const std::size_t failures = small_direct.failures + small_proxied.failures +
                                 fresh_direct.failures + fresh_proxied.failures +
                                 large_direct.failures + large_proxied.failures;
    if (failures != 0) std::printf("  FAILED requests: %zu\n", failures);
    return failures == 0 ? 0 : 1;
}
