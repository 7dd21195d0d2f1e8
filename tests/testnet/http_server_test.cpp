// The testnet's HTTP server: a connection holds a worker thread until it closes, so every open
// connection is served at once; workers are reused from one connection to the next (creating a
// thread per connection was half the testnet's CPU in the paid-path bench); stop() ends open
// connections and returns.
#include <catch2/catch.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "purser/testnet/http.hpp"

using namespace purser::testnet;

namespace {

long thread_id() { return static_cast<long>(::syscall(SYS_gettid)); }

}  // namespace

TEST_CASE("testnet http server: 16 connections open at once are all served together", "[testnet][http]") {
    // Each handler waits until all 16 requests have arrived: a server serving fewer connections
    // at once would leave some waiting until the deadline, and they would answer "alone".
    constexpr int clients = 16;
    std::mutex m;
    std::condition_variable all_in;
    int arrived = 0;
    auto server = http_server::start(0, [&](const http_request&) {
        std::unique_lock lock(m);
        ++arrived;
        all_in.notify_all();
        const bool together = all_in.wait_for(lock, std::chrono::seconds(20), [&] { return arrived >= clients; });
        return http_response{200, {}, together ? "together" : "alone", {}};
    });
    REQUIRE(server);
    std::vector<std::string> bodies(clients);
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) {
        threads.emplace_back([&, i] {
            auto r = http_call("GET", (*server)->base_url() + "/wait");
            bodies[static_cast<std::size_t>(i)] = r ? r->body : "error: " + r.error().message();
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& b : bodies) CHECK(b == "together");
}

TEST_CASE("testnet http server: worker threads are reused across connections", "[testnet][http]") {
    std::mutex m;
    std::set<long> serving_threads;
    auto server = http_server::start(0, [&](const http_request&) {
        std::lock_guard lock(m);
        serving_threads.insert(thread_id());
        return http_response{200, {}, "ok", {}};
    });
    REQUIRE(server);
    constexpr int calls = 50;
    for (int i = 0; i < calls; ++i) {
        auto r = http_call("GET", (*server)->base_url() + "/");  // a fresh connection each
        REQUIRE(r);
        CHECK(r->body == "ok");
    }
    // One new thread per connection would be 50 ids (Linux thread ids are not reused that
    // soon); a worker may be started while the last one is still closing its connection.
    INFO(serving_threads.size() << " threads served " << calls << " connections");
    CHECK(serving_threads.size() <= calls / 2);
}

TEST_CASE("testnet http server: stop ends idle open connections and returns", "[testnet][http]") {
    auto server = http_server::start(0, [](const http_request&) { return http_response{200, {}, "ok", {}}; });
    REQUIRE(server);
    REQUIRE(http_call("GET", (*server)->base_url() + "/"));  // a worker now waits for work
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket idle(io);
    idle.connect({boost::asio::ip::make_address("127.0.0.1"), (*server)->port()});
    // The idle connection holds a worker blocked in read until stop() shuts the socket.
    (*server)->stop();
    char byte = 0;
    boost::system::error_code ec;
    idle.read_some(boost::asio::buffer(&byte, 1), ec);
    CHECK(ec);  // closed by the server, not left hanging
    auto after = http_call("GET", "http://127.0.0.1:" + std::to_string((*server)->port()) + "/",
                           {.headers = {}, .body = {}, .ca_file = {}, .timeout_seconds = 2});
    CHECK_FALSE(after);
}
