#include "http_load.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace purser::bench {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

}  // namespace

run_stats drive(const load& l) {
    std::vector<std::vector<double>> latencies(l.clients);
    std::vector<std::size_t> failures(l.clients, 0);
    std::vector<std::thread> threads;
    const auto start = clock_type::now();
    for (unsigned c = 0; c < l.clients; ++c) {
        threads.emplace_back([&, c] {
            net::io_context io;
            tcp::socket socket(io);
            boost::system::error_code ec;
            beast::flat_buffer buffer;
            latencies[c].reserve(std::min(l.per_client, 1u << 16));
            for (unsigned i = 0; i < l.per_client && (l.stop == nullptr || !l.stop->load()); ++i) {
                const auto t = clock_type::now();
                if (!socket.is_open() || l.reconnect) {
                    socket.close(ec);
                    buffer.clear();
                    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), l.port), ec);
                    if (ec) {
                        failures[c] += l.per_client - i;
                        return;
                    }
                    socket.set_option(tcp::no_delay(true), ec);
                }
                http::request<http::empty_body> req{http::verb::get, l.target, 11};
                req.set(http::field::host, "127.0.0.1");
                if (!l.proxy_authorization.empty())
                    req.set(http::field::proxy_authorization, l.proxy_authorization);
                http::write(socket, req, ec);
                http::response_parser<http::string_body> parser;
                parser.body_limit(64u << 20);
                if (!ec) http::read(socket, buffer, parser, ec);
                if (ec || (!l.any_status && parser.get().result_int() != l.expected_status) ||
                    (l.expected_bytes && parser.get().body().size() != *l.expected_bytes)) {
                    failures[c] += l.per_client - i;
                    return;
                }
                latencies[c].push_back(
                    std::chrono::duration<double, std::micro>(clock_type::now() - t).count());
            }
        });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    std::vector<double> all;
    run_stats out;
    for (unsigned c = 0; c < l.clients; ++c) {
        all.insert(all.end(), latencies[c].begin(), latencies[c].end());
        out.failures += failures[c];
    }
    out.requests = all.size();
    if (all.empty()) return out;
    std::sort(all.begin(), all.end());
    out.requests_per_second = static_cast<double>(all.size()) / seconds;
    out.p50_us = all[all.size() / 2];
    out.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    return out;
}

}  // namespace purser::bench
