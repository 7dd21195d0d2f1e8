// The testnet client's keep-alive pool: a pooled call reuses its idle connection, a connection
// the peer will not keep is never pooled, and one the peer closed meanwhile is never written to.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "purser/testnet/http.hpp"

using namespace purser::testnet;
namespace net = boost::asio;
namespace http = boost::beast::http;

TEST_CASE("testnet http client: pooled calls share one kept-alive connection", "[testnet][http]") {
    // A server that accepts exactly one connection and answers three requests on it: a call
    // that connected anew would sit in the listen backlog unanswered and time out.
    net::io_context io;
    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    std::thread server([&] {
        net::ip::tcp::socket s(io);
        acceptor.accept(s);
        boost::beast::flat_buffer buffer;
        for (int i = 1; i <= 3; ++i) {
            http::request<http::string_body> req;
            boost::beast::error_code ec;
            http::read(s, buffer, req, ec);
            if (ec) return;
            http::response<http::string_body> res{http::status::ok, 11};
            res.body() = std::to_string(i);
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            http::write(s, res, ec);
            if (ec || !req.keep_alive()) return;
        }
    });
    http_connection_pool pool;
    http_call_options o;
    o.pool = &pool;
    o.timeout_seconds = 3;
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    for (int i = 1; i <= 3; ++i) {
        auto r = http_call("POST", url, o);
        REQUIRE(r);
        CHECK(r->body == std::to_string(i));
        CHECK(pool.idle() == 1);  // back in the pool after each answer
    }
    server.join();
}

TEST_CASE("testnet http client: a connection the server will not keep is not pooled", "[testnet][http]") {
    // A streamed answer is the server's one that ends with its connection (Connection: close).
    auto server = http_server::start(0, [](const http_request&) {
        http_response out;
        out.stream = [](const chunk_writer& write) { write("bye"); };
        return out;
    });
    REQUIRE(server);
    http_connection_pool pool;
    http_call_options o;
    o.pool = &pool;
    auto r = http_call("GET", (*server)->base_url() + "/", o);
    REQUIRE(r);
    CHECK(r->body == "bye");
    CHECK(pool.idle() == 0);
}

TEST_CASE("testnet http client: an idle connection the server closed is dropped, not written to",
          "[testnet][http]") {
    auto server = http_server::start(0, [](const http_request&) { return http_response{200, {}, "ok", {}}; });
    REQUIRE(server);
    const std::string url = (*server)->base_url() + "/";
    http_connection_pool pool;
    http_call_options o;
    o.pool = &pool;
    o.timeout_seconds = 2;
    REQUIRE(http_call("GET", url, o));
    REQUIRE(pool.idle() == 1);
    (*server)->stop();  // shuts the server's side of the pooled connection
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the FIN is in
    // The closed connection is noticed before any byte is written, so the call connects anew
    // (refused: nothing listens now) instead of failing on a dead socket with "write" or "read".
    auto r = http_call("GET", url, o);
    REQUIRE_FALSE(r);
    INFO(r.error().message());
    CHECK(r.error().detail.rfind("connect", 0) == 0);
    CHECK(pool.idle() == 0);
}
