// Issue 16, "real clients": what an agent (or an origin) receives byte for byte when real client
// libraries talk through the proxy. Raw sockets on both sides, since curl and a parsing origin
// would hide exactly the bytes these tests are about.
#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"
#include "test_origin.hpp"

using purser::proxy::config;
using purser::proxy::underscore_policy;
using purser::proxy::test_support::count_of;
using purser::proxy::test_support::proxy_fixture;
using purser::proxy::test_support::raw_client;
using purser::test::latch;
using purser::test::raw_origin;
using purser::test::tcp;

namespace {

constexpr const char* last_chunk = "0\r\n\r\n";

void write_all(tcp::socket& s, const std::string& bytes) {
    boost::system::error_code ec;
    purser::test::net::write(s, purser::test::net::buffer(bytes), ec);
}

std::string get_line(std::uint16_t port, const std::string& path) {
    return "GET http://127.0.0.1:" + std::to_string(port) + path +
           " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
}

void use_default_agent(config& c) { c.default_agent = "bot"; }

/// Answers every request `200 ok` after reading its head and Content-Length body, so the test
/// can look at exactly the bytes the proxy forwarded (origin.received()).
void answer_ok(tcp::socket& s, raw_origin& o) {
    std::string pending;
    while (o.read_until(s, pending, "\r\n\r\n")) {
        const auto end = pending.find("\r\n\r\n") + 4;
        const auto cl = pending.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) {
            if (!o.read_at_least(s, pending, end + std::stoul(pending.substr(cl + 16)))) return;
        }
        pending.clear();
        write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
}

/// One request on a new proxy connection; everything the proxy answers until it closes or "ok".
std::string ask(std::uint16_t proxy_port, const std::string& bytes) {
    raw_client agent(proxy_port);
    agent.send(bytes);
    return agent.read_until("\r\n\r\nok");
}

std::string request_with(std::uint16_t port, const std::string& head_and_body) {
    return head_and_body.substr(0, head_and_body.find(' ') + 1) +
           "http://127.0.0.1:" + std::to_string(port) +
           head_and_body.substr(head_and_body.find(' ') + 1);
}

constexpr const char* next_answer = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext";

}  // namespace

TEST_CASE("a chunked response whose last read brings no body bytes ends with one last-chunk",
          "[proxy]") {
    latch relayed;
    raw_origin origin([&](tcp::socket& s, raw_origin& o) {
        std::string pending;
        while (o.read_until(s, pending, "\r\n\r\n")) {
            const bool events = pending.rfind("GET /events ", 0) == 0;
            pending.clear();
            if (!events) {
                write_all(s, next_answer);
                continue;
            }
            write_all(s,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            relayed.wait();  // the proxy's next read brings the last-chunk alone
            write_all(s, last_chunk);
        }
    });
    proxy_fixture proxy(use_default_agent);
    raw_client agent(proxy.port);
    agent.send(get_line(origin.port(), "/events"));
    agent.read_until("hello\r\n");
    relayed.open();
    agent.read_until(last_chunk);
    agent.send(get_line(origin.port(), "/next"));
    const auto out = agent.read_until("next");
    CHECK(out.find("5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n") != std::string::npos);
    CHECK(count_of(out, last_chunk) == 1);
    CHECK(out.size() >= 4);
    CHECK(out.substr(out.size() - 4) == "next");
}

TEST_CASE("a close-delimited response is re-framed as chunked with one last-chunk", "[proxy]") {
    latch relayed;
    raw_origin origin([&](tcp::socket& s, raw_origin& o) {
        std::string pending;
        while (o.read_until(s, pending, "\r\n\r\n")) {
            const bool closing = pending.rfind("GET /close ", 0) == 0;
            pending.clear();
            if (!closing) {
                write_all(s, next_answer);
                continue;
            }
            write_all(s, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello");
            relayed.wait();  // the proxy's next read sees only the end of the connection
            boost::system::error_code ec;
            s.shutdown(tcp::socket::shutdown_both, ec);
            return;
        }
    });
    proxy_fixture proxy(use_default_agent);
    raw_client agent(proxy.port);
    agent.send(get_line(origin.port(), "/close"));
    agent.read_until("hello\r\n");
    relayed.open();
    agent.read_until(last_chunk);
    agent.send(get_line(origin.port(), "/next"));
    const auto out = agent.read_until("next");
    CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(out.find("5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n") != std::string::npos);
    CHECK(count_of(out, last_chunk) == 1);
}

TEST_CASE(
    "a streamed chunked upload whose last read is empty reaches the origin with one "
    "last-chunk",
    "[proxy]") {
    const std::string piece(32, 'a');
    raw_origin origin([&](tcp::socket& s, raw_origin& o) {
        std::string pending;
        while (o.read_until(s, pending, "\r\n\r\n")) {
            if (pending.rfind("POST /up ", 0) == 0) {
                if (!o.read_until(s, pending, std::string("\r\n") + last_chunk)) return;
                pending.clear();
                write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            } else if (pending.rfind("GET /next ", 0) == 0) {
                pending.clear();
                write_all(s, next_answer);
            } else {
                write_all(s, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                return;
            }
        }
    });
    // A small replay limit makes the upload stream instead of being buffered.
    proxy_fixture proxy([](config& c) {
        c.default_agent = "bot";
        c.max_replay_body = 16;
    });
    raw_client agent(proxy.port);
    agent.send("POST http://127.0.0.1:" + std::to_string(origin.port()) +
               "/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + piece +
               "\r\n");
    REQUIRE(origin.wait_received(piece));
    agent.send(last_chunk);  // read by the proxy alone: no body bytes
    agent.read_until("ok");
    agent.send(get_line(origin.port(), "/next"));
    const auto out = agent.read_until("next");
    CHECK(out.find("HTTP/1.1 400") == std::string::npos);
    CHECK(out.substr(out.size() - 4) == "next");
    const auto seen = origin.received();
    CHECK(count_of(seen, last_chunk) == 1);
    CHECK(seen.find(std::string(last_chunk) + "GET /next ") != std::string::npos);
}

TEST_CASE("CONNECT then plain HTTP inside the tunnel is served from the CONNECT authority",
          "[proxy]") {
    purser::test::origin_server origin([](purser::test::origin_context& ctx) {
        return purser::test::text_response(200, "plain " + std::string(ctx.req.target()));
    });
    proxy_fixture proxy([](config& c) {
        c.default_agent = "bot";
        c.intercept = {"*"};
    });
    const auto authority = "127.0.0.1:" + std::to_string(origin.port());
    raw_client agent(proxy.port);
    agent.send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    agent.read_until("\r\n\r\n");
    agent.send("GET /a HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    agent.read_until("plain /a");
    // Keep-alive inside the tunnel; absolute-form is accepted too.
    agent.send("GET http://" + authority + "/b HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    const auto out = agent.read_until("plain /b");
    CHECK(out.rfind("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(out.find("plain /a") != std::string::npos);
    CHECK(out.find("plain /b") != std::string::npos);
    const auto seen = origin.requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].target() == "/a");
    CHECK(seen[1].target() == "/b");
    CHECK(proxy.log_with("/b").find("\"url\":\"http://" + authority + "/a\"") != std::string::npos);
}

TEST_CASE("without an interception CA, plain HTTP in a CONNECT tunnel is served and TLS is "
          "refused with an alert",
          "[proxy]") {
    purser::test::origin_server origin([](purser::test::origin_context& ctx) {
        return purser::test::text_response(200, "plain " + std::string(ctx.req.target()));
    });
    proxy_fixture proxy(
        [](config& c) {
            c.default_agent = "bot";
            c.intercept = {"*"};
        },
        nullptr, false);
    const auto authority = "127.0.0.1:" + std::to_string(origin.port());
    raw_client agent(proxy.port);
    agent.send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    agent.read_until("\r\n\r\n");
    agent.send("GET /a HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    const auto out = agent.read_until("plain /a");
    CHECK(out.rfind("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(out.find("plain /a") != std::string::npos);
    REQUIRE(origin.requests().size() == 1);

    // TLS needs a minted certificate: curl hears a TLS alert, the log says which CA is missing.
    const auto tls = purser::test::curl(proxy.proxy_arg() + " https://" + authority + "/s");
    CHECK(tls.exit_code != 0);
    CHECK(tls.out.find("HTTP/1.1 200 Connection established") != std::string::npos);
    CHECK(tls.out.find("alert internal error") != std::string::npos);
    CHECK(proxy.log_with("no CA loaded")
              .find("\"error\":\"cannot intercept 127.0.0.1: no CA loaded\"") != std::string::npos);
    CHECK(origin.requests().size() == 1);
}

TEST_CASE("a 402 inside a plain-HTTP CONNECT tunnel reaches the payment hook", "[proxy]") {
    purser::test::origin_server origin([](purser::test::origin_context& ctx) {
        if (ctx.req.find("X-PAYMENT") == ctx.req.end())
            return purser::test::text_response(402, "{\"x402Version\":1}");
        return purser::test::text_response(200, "paid content");
    });
    auto hook = std::make_shared<purser::proxy::test_support::recording_hook>();
    proxy_fixture proxy(
        [](config& c) {
            c.default_agent = "bot";
            c.intercept = {"*"};
        },
        hook);
    const auto authority = "127.0.0.1:" + std::to_string(origin.port());
    raw_client agent(proxy.port);
    agent.send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    agent.read_until("\r\n\r\n");
    agent.send("GET /paid?k=1 HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    const auto out = agent.read_until("paid content");
    CHECK(out.find("\r\n\r\nHTTP/1.1 200 OK\r\n") != std::string::npos);
    std::lock_guard lock(hook->m);
    REQUIRE(hook->required.size() == 1);
    CHECK(hook->required[0].url == "http://" + authority + "/paid?k=1");
    CHECK_FALSE(hook->required[0].tls);
    CHECK(hook->required[0].agent == "bot");
    CHECK(hook->paid_statuses == std::vector<unsigned>{200});
}

TEST_CASE("a tunnel that carries neither TLS nor HTTP gets a one-line 400", "[proxy]") {
    proxy_fixture proxy([](config& c) {
        c.default_agent = "bot";
        c.intercept = {"*"};
    });
    raw_client agent(proxy.port);
    agent.send("CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
    agent.read_until("\r\n\r\n");
    agent.send(std::string("\x00\x01garbage", 9));
    const auto out = agent.read_until("HTTP/1.1\r\n");
    CHECK(out.find("HTTP/1.1 400") != std::string::npos);
    CHECK(out.find("purser: tunnel to 127.0.0.1:9 carries neither TLS nor an HTTP/1.x request") !=
          std::string::npos);
}

TEST_CASE("look-alikes of the framing headers are refused whatever underscore_headers says",
          "[proxy]") {
    for (const char* policy : {"drop", "reject", "allow"}) {
        raw_origin origin(answer_ok);
        proxy_fixture proxy([&](config& c) {
            c.default_agent = "bot";
            c.underscore_headers = std::string(policy) == "drop"     ? underscore_policy::drop
                                   : std::string(policy) == "reject" ? underscore_policy::reject
                                                                     : underscore_policy::allow;
        });
        INFO(policy);
        for (const char* line : {"Content_Length: 5", "Transfer_Encoding: chunked",
                                 "Transfer---Encoding: chunked", "content_length: 5"}) {
            INFO(line);
            const auto out =
                ask(proxy.port, request_with(origin.port(), "POST /x HTTP/1.1\r\nHost: h\r\n") +
                                    line + "\r\n\r\nhello");
            CHECK(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
            CHECK(out.find("looks like Content-Length or Transfer-Encoding") != std::string::npos);
        }
        // A space before the colon is not a field name Beast accepts: refused all the same.
        const auto spaced = ask(proxy.port, request_with(origin.port(),
                                                         "POST /x HTTP/1.1\r\nHost: "
                                                         "h\r\nContent-Length : 5\r\n\r\nhello"));
        CHECK(spaced.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
        CHECK(origin.received().empty());
    }
}

TEST_CASE("underscore_headers: drop by default and reject or allow when configured", "[proxy]") {
    const std::string req = "GET /u HTTP/1.1\r\nHost: h\r\nX_Api_Key: k1\r\nX-Kept: yes\r\n\r\n";
    SECTION("drop") {
        raw_origin origin(answer_ok);
        proxy_fixture proxy(use_default_agent);
        const auto out = ask(proxy.port, request_with(origin.port(), req));
        CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(origin.received().find("X-Kept: yes") != std::string::npos);
        CHECK(origin.received().find("X_Api_Key") == std::string::npos);
    }
    SECTION("reject") {
        raw_origin origin(answer_ok);
        proxy_fixture proxy([](config& c) {
            c.default_agent = "bot";
            c.underscore_headers = underscore_policy::reject;
        });
        const auto out = ask(proxy.port, request_with(origin.port(), req));
        CHECK(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
        CHECK(out.find("purser: header name 'X_Api_Key' contains '_'") != std::string::npos);
        CHECK(origin.received().empty());
    }
    SECTION("allow") {
        raw_origin origin(answer_ok);
        proxy_fixture proxy([](config& c) {
            c.default_agent = "bot";
            c.underscore_headers = underscore_policy::allow;
        });
        const auto out = ask(proxy.port, request_with(origin.port(), req));
        CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(origin.received().find("X_Api_Key: k1") != std::string::npos);
    }
}

TEST_CASE("GET and HEAD with a body are refused unless the host is allowed", "[proxy]") {
    raw_origin origin(answer_ok);
    SECTION("refused by default") {
        proxy_fixture proxy(use_default_agent);
        for (const char* r : {"GET /g HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
                              "HEAD /g HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n0\r\n\r\n"}) {
            const auto out = ask(proxy.port, request_with(origin.port(), r));
            CHECK(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
            CHECK(out.find("request with a body is refused") != std::string::npos);
        }
        CHECK(origin.received().empty());
        // An empty body is no body.
        const auto empty = ask(proxy.port, request_with(origin.port(),
                                                        "GET /g HTTP/1.1\r\nHost: "
                                                        "h\r\nContent-Length: 0\r\n\r\n"));
        CHECK(empty.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    }
    SECTION("allowed hosts get the body and a connection of their own") {
        proxy_fixture proxy([](config& c) {
            c.default_agent = "bot";
            c.allow_get_body_hosts = {"127.0.0.1"};
        });
        raw_client agent(proxy.port);
        const auto get = request_with(origin.port(),
                                      "GET /g HTTP/1.1\r\nHost: h\r\n"
                                      "Content-Length: 5\r\n\r\nhello");
        agent.send(get);
        agent.read_until("\r\n\r\nok");
        agent.send(get);
        const auto out =
            agent.read_until("\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        CHECK(count_of(out, "HTTP/1.1 200 OK") == 2);
        CHECK(count_of(origin.received(), "\r\n\r\nhello") == 2);
        CHECK(origin.connections() == 2);  // never back in the shared pool
    }
}

TEST_CASE("an HTTP/1.2 request is answered as HTTP/1.1", "[proxy]") {
    raw_origin origin(answer_ok);
    proxy_fixture proxy(use_default_agent);
    const auto out =
        ask(proxy.port, request_with(origin.port(), "GET /v HTTP/1.2\r\nHost: h\r\n\r\n"));
    CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(origin.received().rfind("GET /v HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("a tunnel passes the agent's half-close on and still relays the origin's answer",
          "[proxy]") {
    // The origin answers only once it has seen the end of the agent's bytes, as a server reading
    // a request "until EOF" does: that EOF must cross the tunnel while the way back stays open.
    std::atomic<bool> origin_saw_eof{false};
    raw_origin origin([&](tcp::socket& s, raw_origin& o) {
        std::string pending;
        if (!o.read_until(s, pending, "ping")) return;
        // read_until returns false only when the peer's side has ended.
        if (o.read_until(s, pending, "never sent")) return;
        origin_saw_eof = true;
        write_all(s, "pong");
        boost::system::error_code ec;
        s.shutdown(tcp::socket::shutdown_both, ec);
    });
    proxy_fixture proxy([](config& c) {
        use_default_agent(c);
        c.intercept = {"*"};
        c.no_intercept = {"127.0.0.1"};
    });
    raw_client agent(proxy.port);
    const std::string authority = "127.0.0.1:" + std::to_string(origin.port());
    agent.send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    CHECK(agent.read_until("\r\n\r\n").rfind("HTTP/1.1 200 Connection established", 0) == 0);
    agent.send("ping");
    agent.shutdown_send();
    const auto out = agent.read_until("pong");
    CHECK(origin_saw_eof);
    CHECK(out.size() >= 4);
    CHECK(out.substr(out.size() - 4) == "pong");
    // Both directions ended, so the tunnel has closed and logged its line with the bytes.
    const auto log = proxy.log_with("\"tunnel\":true");
    CHECK(log.find("\"bytes_up\":4") != std::string::npos);
    CHECK(log.find("\"bytes_down\":4") != std::string::npos);
}
