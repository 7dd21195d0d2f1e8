// The proxy server end to end: real sockets on 127.0.0.1:0, a Beast origin in-process, and curl
// as the client.
#include "purser/proxy/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "purser/protocol/bytes.hpp"
#include "proxy_fixture.hpp"
#include "test_origin.hpp"
#include "test_support.hpp"

using namespace purser::proxy;
using purser::test::curl;
using purser::test::last_status;
using purser::test::origin_context;
using purser::test::origin_server;
using purser::test::text_response;

using namespace purser::proxy::test_support;

namespace {

/// User plus system CPU time of a process, in seconds, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
    const std::string stat = purser::test::read_file("/proc/" + std::to_string(pid) + "/stat");
    // Fields after the command name (which may hold spaces) start with the state, field 3;
    // utime and stime are fields 14 and 15.
    std::istringstream in(stat.substr(stat.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// The share of one core `pid` used over `wall`: CPU time, not speed, so a loaded machine can
/// only make it smaller. A busy accept loop scores near 1 (or more, with two I/O threads).
double cpu_share(pid_t pid, std::chrono::milliseconds wall) {
    const double before = cpu_seconds(pid);
    std::this_thread::sleep_for(wall);
    return (cpu_seconds(pid) - before) / (static_cast<double>(wall.count()) / 1000.0);
}

/// An HTTPS origin that answers with its path, behind a proxy that intercepts every CONNECT and
/// trusts the origin's CA; agents trust only the proxy's CA (purser_ca).
struct intercepted_origin {
    test_tls tls;
    origin_server origin{[](origin_context& ctx) {
        return text_response(200, "inside " + std::string(ctx.req.target()));
    }, tls.ctx};
    proxy_fixture proxy{[this](config& c) {
        c.intercept = {"*"};
        c.upstream_ca = {tls.ca_file()};
    }};
    std::string target = "https://127.0.0.1:" + std::to_string(origin.port());
    std::string purser_ca = (proxy.cfg->ca_dir / "ca.crt").string();
};

}  // namespace

TEST_CASE("plain GET is forwarded with hop-by-hop headers removed and Via added", "[proxy]") {
    origin_server origin([](origin_context&) {
        auto res = text_response(200, "hello");
        res.set("Connection", "X-Origin-Hop");
        res.set("X-Origin-Hop", "1");
        res.set("X-End-To-End", "kept");
        return res;
    });
    proxy_fixture proxy;
    // Two Connection headers: the tokens of each name a header to drop.
    auto r = curl(proxy.proxy_arg() + " -H 'Connection: X-Secret-Hop' -H 'X-Secret-Hop: s' "
                  "-H 'Connection: X-Second-Hop' -H 'X-Second-Hop: t' "
                  "-H 'Keep-Alive: timeout=5' -H 'X-Keep: yes' '" +
                  url(origin.port(), "/hello?q=1") + "'");
    CHECK(r.exit_code == 0);
    CHECK(last_status(r.out) == 200);
    CHECK(r.out.find("\r\n\r\nhello") != std::string::npos);
    CHECK(r.out.find("X-End-To-End: kept") != std::string::npos);
    CHECK(r.out.find("X-Origin-Hop") == std::string::npos);
    CHECK(r.out.find("Via: 1.1 purser") != std::string::npos);

    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].target() == "/hello?q=1");
    CHECK(header_of(reqs[0], "X-Keep") == "yes");
    CHECK(header_of(reqs[0], "X-Secret-Hop") == "<absent>");
    CHECK(header_of(reqs[0], "X-Second-Hop") == "<absent>");
    CHECK(header_of(reqs[0], "Connection") == "<absent>");
    CHECK(header_of(reqs[0], "Keep-Alive") == "<absent>");
    CHECK(header_of(reqs[0], "Proxy-Authorization") == "<absent>");
    CHECK(header_of(reqs[0], "Via") == "1.1 purser");
    CHECK(header_of(reqs[0], "Host") == "127.0.0.1:" + std::to_string(origin.port()));

    // One log line, without the query or credentials.
    const auto log = proxy.log_with("\"agent\":\"bot\"");
    CHECK(log.find("\"agent\":\"bot\"") != std::string::npos);
    CHECK(log.find("\"status\":200") != std::string::npos);
    CHECK(log.find("q=1") == std::string::npos);
    CHECK(log.find("tok3n") == std::string::npos);
}

TEST_CASE("a 1 MiB POST body arrives byte-identical", "[proxy]") {
    const unsigned seed = 6;  // fixed: the body is reproducible
    INFO("body seed " << seed);
    std::mt19937 rng(seed);
    std::string body(1u << 20, '\0');
    for (auto& c : body) c = static_cast<char>(rng() & 0xff);
    origin_server origin([](origin_context& ctx) {
        return text_response(200, std::to_string(ctx.req.body().size()));
    });
    proxy_fixture proxy;
    const auto file = proxy.home.path() / "body.bin";
    std::ofstream(file, std::ios::binary) << body;
    auto r = curl(proxy.proxy_arg() + " --data-binary @" + file.string() + " " +
                  url(origin.port(), "/upload"));
    CHECK(last_status(r.out) == 200);
    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].method_string() == "POST");
    CHECK(reqs[0].body() == body);
}

TEST_CASE("keep-alive: one client connection reuses one upstream connection", "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "ok"); });
    proxy_fixture proxy;
    auto r = curl(proxy.proxy_arg() + " " + url(origin.port(), "/a") + " " +
                  url(origin.port(), "/b") + " " + url(origin.port(), "/c"));
    CHECK(r.exit_code == 0);
    CHECK(origin.requests().size() == 3);
    CHECK(origin.connections() == 1);
    CHECK(r.out.find("Re-using existing connection") == std::string::npos);  // -s hides it anyway
}

TEST_CASE("the upstream pool is per worker: client connections on one worker share one",
          "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "ok"); });
    // Two workers (the fixture's threads), and accepted connections are handed to them in turn:
    // the first and third client connection land on one, the second and fourth on the other.
    proxy_fixture proxy;
    for (const char* path : {"/a", "/b", "/c", "/d"}) {
        // A new curl process each time: a new client connection to the proxy.
        auto r = curl(proxy.proxy_arg() + " " + url(origin.port(), path));
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("ok") != std::string::npos);
    }
    CHECK(origin.requests().size() == 4);
    // One origin connection per worker, each reused by the worker's second client.
    CHECK(origin.connections() == 2);
}

TEST_CASE("a streamed (SSE) response reaches the client event by event", "[proxy]") {
    purser::test::latch first_event_seen;
    std::atomic<bool> origin_finished{false};
    origin_server origin([&](origin_context& ctx) -> std::optional<purser::test::http::response<
                                                      purser::test::http::string_body>> {
        ctx.write_raw("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n");
        const std::string one = "data: one\n\n";
        ctx.write_raw("b\r\n" + one + "\r\n");
        // The second event is only sent once the client has seen the first one.
        first_event_seen.wait();
        const std::string two = "data: two\n\n";
        origin_finished = true;
        ctx.write_raw("b\r\n" + two + "\r\n0\r\n\r\n");
        return std::nullopt;
    });
    proxy_fixture proxy;
    const std::string cmd = "curl -sS -N --max-time 30 --noproxy '' " + proxy.proxy_arg() + " " +
                            url(origin.port(), "/events");
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char line[256];
    bool got_one = false;
    bool finished_before_first = true;
    std::string rest;
    while (std::fgets(line, sizeof line, p) != nullptr) {
        const std::string l(line);
        if (!got_one && l == "data: one\n") {
            got_one = true;
            finished_before_first = origin_finished.load();
            first_event_seen.open();
        } else {
            rest += l;
        }
    }
    ::pclose(p);
    first_event_seen.open();
    CHECK(got_one);
    CHECK_FALSE(finished_before_first);
    CHECK(rest.find("data: two") != std::string::npos);
}

TEST_CASE("an answer's head is not held back for a body that has not come", "[proxy]") {
    // The proxy sends a head together with the body bytes that arrived with it (one write), but
    // never waits for body bytes to do so: here the origin sends the body only once the agent
    // has seen the head.
    purser::test::latch head_seen;
    std::atomic<bool> agent_saw_head_first{false};
    origin_server origin([&](origin_context& ctx) -> std::optional<purser::test::http::response<
                                                      purser::test::http::string_body>> {
        ctx.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        // False when the wait ran out: a proxy holding the head back never let the agent see it.
        agent_saw_head_first = head_seen.wait();
        ctx.write_raw("later");
        return std::nullopt;
    });
    proxy_fixture proxy([](config& c) { c.default_agent = "sidecar"; });
    namespace net = boost::asio;
    net::io_context io;
    net::ip::tcp::socket s(io);
    s.connect({net::ip::make_address("127.0.0.1"), proxy.port});
    net::write(s, net::buffer("GET " + url(origin.port(), "/slow") +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    std::string got;
    char buf[4096];
    boost::system::error_code ec;
    while (got.find("\r\n\r\n") == std::string::npos && !ec) {
        got.append(buf, s.read_some(net::buffer(buf), ec));
    }
    head_seen.open();
    while (got.find("later") == std::string::npos && !ec) {
        got.append(buf, s.read_some(net::buffer(buf), ec));
    }
    CHECK(agent_saw_head_first);
    CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(got.find("\r\n\r\nlater") != std::string::npos);
}

TEST_CASE("proxy authentication: 407, default agent, wrong credentials", "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "ok"); });
    {
        proxy_fixture proxy;
        auto none = curl(proxy.proxy_arg("") + " " + url(origin.port(), "/"));
        CHECK(last_status(none.out) == 407);
        CHECK(none.out.find("Proxy-Authenticate: Basic realm=\"purser\"") != std::string::npos);
        auto wrong = curl(proxy.proxy_arg("bot:nope") + " " + url(origin.port(), "/"));
        CHECK(last_status(wrong.out) == 407);
        auto connect = purser::test::raw_exchange(
            proxy.port, "CONNECT 127.0.0.1:" + std::to_string(origin.port()) +
                            " HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(connect.rfind("HTTP/1.1 407", 0) == 0);
        CHECK(origin.requests().empty());
        CHECK(proxy.log_text().find("nope") == std::string::npos);
        // A credential store that cannot answer is not a wrong token: 503 naming the store.
        auto broken = curl(proxy.proxy_arg("broken:x") + " " + url(origin.port(), "/"));
        CHECK(last_status(broken.out) == 503);
        CHECK(broken.out.find("purser: store unavailable: read-only file system") !=
              std::string::npos);
    }
    {
        proxy_fixture proxy([](config& c) { c.default_agent = "sidecar"; });
        auto none = curl(proxy.proxy_arg("") + " " + url(origin.port(), "/"));
        CHECK(last_status(none.out) == 200);
        auto wrong = curl(proxy.proxy_arg("bot:nope") + " " + url(origin.port(), "/"));
        CHECK(last_status(wrong.out) == 407);
        auto right = curl(proxy.proxy_arg("other:pw") + " " + url(origin.port(), "/"));
        CHECK(last_status(right.out) == 200);
        const auto log = proxy.log_with("\"agent\":\"other\"");
        CHECK(log.find("\"agent\":\"sidecar\"") != std::string::npos);
        CHECK(log.find("\"agent\":\"other\"") != std::string::npos);
    }
}

TEST_CASE("malformed requests get 400, oversized headers 431", "[proxy]") {
    proxy_fixture proxy;
    auto garbage = purser::test::raw_exchange(proxy.port, "GARBAGE\r\n\r\n");
    CHECK(garbage.rfind("HTTP/1.1 400", 0) == 0);
    auto origin_form = purser::test::raw_exchange(
        proxy.port, "GET /path HTTP/1.1\r\nHost: example.com\r\n\r\n");
    CHECK(origin_form.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(origin_form.find("origin-form") != std::string::npos);
    const std::string big(70 * 1024, 'a');
    auto huge = purser::test::raw_exchange(
        proxy.port, "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
    CHECK(huge.rfind("HTTP/1.1 431", 0) == 0);
}

namespace {

const std::string bot_basic = purser::protocol::base64_encode(std::string_view("bot:tok3n"));

/// An absolute-form request written by hand: curl would normalise "127.1" before the proxy saw it.
std::string raw_get(const std::string& authority, const std::string& path) {
    return "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority +
           "\r\nProxy-Authorization: Basic " + bot_basic + "\r\nConnection: close\r\n\r\n";
}

/// A CONNECT head written by hand, then `after` (bytes for the tunnel) in the same write.
std::string raw_connect(const std::string& authority, const std::string& after = {}) {
    return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority +
           "\r\nProxy-Authorization: Basic " + bot_basic + "\r\n\r\n" + after;
}

}  // namespace

TEST_CASE("every IPv4 spelling of the origin is forwarded and paid as 127.0.0.1", "[proxy]") {
    origin_server origin([](origin_context& ctx) {
        if (ctx.req.find("X-PAYMENT") == ctx.req.end()) return text_response(402, "pay");
        return text_response(200, "paid content");
    });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy({}, hook);
    const std::string port = std::to_string(origin.port());
    const std::vector<std::string> spellings = {"127.1", "2130706433", "0x7f000001", "0177.0.0.1"};
    for (const auto& host : spellings) {
        INFO(host);
        const auto out = purser::test::raw_exchange(proxy.port, raw_get(host + ":" + port, "/p"));
        CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
        CHECK(out.find("paid content") != std::string::npos);
    }
    // The origin saw the canonical Host on the first try and on the paid retry.
    const auto reqs = origin.requests();
    REQUIRE(reqs.size() == 2 * spellings.size());
    for (const auto& r : reqs) CHECK(header_of(r, "Host") == "127.0.0.1:" + port);
    // The payment flow (and so the store's host policy) got the canonical host, never the text.
    std::lock_guard lock(hook->m);
    REQUIRE(hook->required.size() == spellings.size());
    for (const auto& info : hook->required) {
        CHECK(info.host == "127.0.0.1");
        CHECK(info.url == url(origin.port(), "/p"));
    }
}

TEST_CASE("a CONNECT host is matched against intercept lists as its canonical address",
          "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "tunnelled"); });
    proxy_fixture proxy([](config& c) {
        c.intercept = {"*"};
        c.no_intercept = {"127.0.0.1"};
        // A tunnel half-closed by the origin ends at the idle timeout; keep the test short.
        c.idle_timeout_ms = 300;
    });
    // Not intercepted means a byte tunnel, so plain HTTP inside it reaches the plain origin; had
    // "0x7f000001" slipped past the "127.0.0.1" pattern, the proxy would expect TLS instead.
    const std::string authority = "0x7f000001:" + std::to_string(origin.port());
    const auto out = purser::test::raw_exchange(
        proxy.port,
        raw_connect(authority, "GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    CHECK(out.rfind("HTTP/1.1 200 Connection established", 0) == 0);
    CHECK(out.find("tunnelled") != std::string::npos);
    const auto log = proxy.log_with("\"tunnel\":true");
    CHECK(log.find("\"host\":\"127.0.0.1\"") != std::string::npos);
}

TEST_CASE("numeric hosts that are not exactly one address get 400", "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "never"); });
    proxy_fixture proxy;
    for (const std::string authority : {"256.1.1.1", "1.2.3.4.5", "0x1g"}) {
        INFO(authority);
        const auto out = purser::test::raw_exchange(proxy.port, raw_get(authority, "/"));
        CHECK(out.rfind("HTTP/1.1 400", 0) == 0);
        CHECK(out.find("is not exactly one IPv4 address") != std::string::npos);
    }
    const auto connect = purser::test::raw_exchange(proxy.port, raw_connect("1.2.3.4.5:443"));
    CHECK(connect.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(connect.find("is not exactly one IPv4 address") != std::string::npos);
    CHECK(origin.requests().empty());
}

TEST_CASE("a chunked upload from curl arrives byte-identical", "[proxy]") {
    std::mt19937 rng(9);  // fixed seed: the body is reproducible
    std::string body(200 * 1024, '\0');
    for (auto& ch : body) ch = static_cast<char>(rng() & 0xff);
    origin_server origin([](origin_context& ctx) {
        return text_response(200, std::to_string(ctx.req.body().size()));
    });
    proxy_fixture proxy;
    const auto file = proxy.home.path() / "chunked.bin";
    std::ofstream(file, std::ios::binary) << body;
    auto r = curl(proxy.proxy_arg() + " -H 'Transfer-Encoding: chunked' --data-binary @" +
                  file.string() + " " + url(origin.port(), "/upload"));
    CHECK(last_status(r.out) == 200);
    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].body() == body);
}

TEST_CASE("unreachable upstream gives 502, a silent one 504", "[proxy]") {
    std::uint16_t closed_port = 0;
    {
        purser::test::net::io_context io;
        purser::test::tcp::acceptor a(io, {purser::test::net::ip::make_address("127.0.0.1"), 0});
        closed_port = a.local_endpoint().port();
    }
    purser::test::latch release;
    origin_server silent([&](origin_context&) {
        release.wait();
        return text_response(200, "too late");
    });
    proxy_fixture proxy([](config& c) { c.upstream_timeout_ms = 300; });
    auto r = curl(proxy.proxy_arg() + " " + url(closed_port, "/"));
    CHECK(last_status(r.out) == 502);
    CHECK(r.out.find("cannot connect to 127.0.0.1:" + std::to_string(closed_port)) !=
          std::string::npos);
    auto t = curl(proxy.proxy_arg() + " " + url(silent.port(), "/"));
    CHECK(last_status(t.out) == 504);
    CHECK(t.out.find("did not answer") != std::string::npos);
    release.open();
}

TEST_CASE("an origin named by a host name is resolved, then reached again from the worker's cache",
          "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "by name"); });
    // One worker, no pooling: each request opens a new connection, so the second one finds
    // the name in the worker's cache. localhost may list ::1 first while the origin listens on
    // 127.0.0.1 only: each address is tried in turn.
    proxy_fixture proxy([](config& c) {
        c.threads = 1;
        c.pool_idle_per_origin = 0;
    });
    for (int i = 0; i < 2; ++i) {
        auto r = curl(proxy.proxy_arg() + " http://localhost:" + std::to_string(origin.port()) + "/n");
        CHECK(last_status(r.out) == 200);
        CHECK(r.out.find("by name") != std::string::npos);
    }
    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(header_of(reqs[1], "Host") == "localhost:" + std::to_string(origin.port()));
}

TEST_CASE("CONNECT to a host that is not intercepted tunnels bytes", "[proxy]") {
    test_tls tls;
    origin_server origin([](origin_context&) { return text_response(200, "secret stuff"); }, tls.ctx);
    proxy_fixture proxy([](config& c) {
        c.intercept = {"*"};
        c.no_intercept = {"127.0.0.1"};
        // The test origin keeps its side open (keep-alive); the tunnel, and so its log line,
        // ends at the idle timeout.
        c.idle_timeout_ms = 300;
    });
    auto r = curl(proxy.proxy_arg() + " --cacert " + tls.ca_file() + " https://127.0.0.1:" +
                  std::to_string(origin.port()) + "/t");
    CHECK(r.exit_code == 0);
    CHECK(last_status(r.out) == 200);
    CHECK(r.out.find("secret stuff") != std::string::npos);
    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(header_of(reqs[0], "Via") == "<absent>");  // the proxy never saw inside
    // A tunnel's log line is written when both sides have closed.
    CHECK(proxy.log_with("\"tunnel\":true").find("\"tunnel\":true") != std::string::npos);
}

TEST_CASE("a new connection to an HTTPS origin resumes the worker's last session with it",
          "[proxy]") {
    test_tls tls;
    // Connection: close after each answer, so every request needs a new origin connection.
    origin_server origin([](origin_context&) {
        auto res = text_response(200, "fresh");
        res.keep_alive(false);
        return res;
    }, tls.ctx);
    proxy_fixture proxy([&](config& c) {
        c.threads = 1;  // one worker, one session cache
        c.intercept = {"*"};
        c.upstream_ca = {tls.ca_file()};
    });
    const std::string target = "https://127.0.0.1:" + std::to_string(origin.port()) + "/r";
    const std::string purser_ca = (proxy.cfg->ca_dir / "ca.crt").string();
    for (int i = 0; i < 3; ++i) {
        auto r = curl(proxy.proxy_arg() + " --cacert " + purser_ca + " " + target);
        CHECK(last_status(r.out) == 200);
    }
    CHECK(origin.connections() == 3);
    CHECK(origin.resumed() == 2);  // a full handshake only the first time
    // Resumed or not, the answer still needs the origin's certificate to have been verified:
    // another origin on the same host name with a certificate the proxy does not trust fails.
    test_tls other;
    origin_server untrusted([](origin_context&) { return text_response(200, "nope"); }, other.ctx);
    auto bad = curl(proxy.proxy_arg() + " --cacert " + purser_ca + " https://127.0.0.1:" +
                    std::to_string(untrusted.port()) + "/x");
    CHECK(last_status(bad.out) == 502);
    CHECK(untrusted.requests().empty());
}

TEST_CASE("TLS interception: minted leaf trusted via the Purser CA, upstream verified", "[proxy]") {
    intercepted_origin o;
    auto& [tls, origin, proxy, target, purser_ca] = o;
    auto r = curl(proxy.proxy_arg() + " --cacert " + purser_ca + " " + target + "/a " + target + "/b");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("inside /a") != std::string::npos);
    CHECK(r.out.find("inside /b") != std::string::npos);
    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(header_of(reqs[0], "Via") == "1.1 purser");  // we saw and forwarded the request
    CHECK(origin.connections() == 1);                  // keep-alive inside the tunnel too
    const auto log = proxy.log_with("/a\"");
    CHECK(log.find("\"intercepted\":true") != std::string::npos);
    CHECK(log.find("\"url\":\"https://127.0.0.1:" + std::to_string(origin.port()) + "/a\"") !=
          std::string::npos);

    // The client does not trust the origin's own CA: only the Purser CA.
    auto untrusting = curl(proxy.proxy_arg() + " --cacert " + tls.ca_file() + " " + target + "/");
    CHECK(untrusting.exit_code != 0);
}

TEST_CASE("TLS interception: the agent is sent the minted leaf alone, which its CA verifies",
          "[proxy]") {
    intercepted_origin o;
    auto& [tls, origin, proxy, target, purser_ca] = o;
    // Exactly the leaf, for the host it asked, issued by the CA it trusts: the agent installs
    // Purser's CA itself, so nothing else needs to travel with each handshake.
    const std::string via = " -proxy 127.0.0.1:" + std::to_string(proxy.port) +
                            " -proxy_user bot -proxy_pass pass:tok3n -connect 127.0.0.1:" +
                            std::to_string(origin.port());
    auto r = purser::test::run_command("openssl s_client -showcerts -verify_return_error -CAfile " + purser_ca +
                         via + " </dev/null");
    CHECK(r.exit_code == 0);
    std::size_t certificates = 0;
    for (auto at = r.out.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
         at = r.out.find("-----BEGIN CERTIFICATE-----", at + 1))
        ++certificates;
    CHECK(certificates == 1);
    CHECK(r.out.find("s:O = Purser, CN = 127.0.0.1") != std::string::npos);
    CHECK(r.out.find("i:O = Purser, CN = Purser local CA") != std::string::npos);
    CHECK(r.out.find("Verify return code: 0 (ok)") != std::string::npos);
}

TEST_CASE("TLS interception: one session ticket per handshake, and an agent resumes with it",
          "[proxy]") {
    intercepted_origin o;
    auto& [tls, origin, proxy, target, purser_ca] = o;
    // Connection: close makes the proxy end each tunnel, so curl opens a second one and offers
    // the ticket it got from the first (curl -v names each ticket it reads, and a resumption).
    auto r = curl("-v " + proxy.proxy_arg() + " --cacert " + purser_ca + " -H 'Connection: close' " +
                  target + "/a " + target + "/b");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("inside /b") != std::string::npos);
    auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (auto at = r.out.find(what); at != std::string::npos; at = r.out.find(what, at + 1)) ++n;
        return n;
    };
    CHECK(count("Newsession Ticket") == 2);  // one per handshake (OpenSSL's default is two)
    CHECK(count("SSL re-using session ID") == 1);
}

TEST_CASE("upstream TLS signed by an untrusted CA gives 502", "[proxy]") {
    test_tls tls;
    origin_server origin([](origin_context&) { return text_response(200, "never"); }, tls.ctx);
    proxy_fixture proxy([&](config& c) { c.intercept = {"*"}; });  // no upstream_ca
    const std::string purser_ca = (proxy.cfg->ca_dir / "ca.crt").string();
    auto r = curl(proxy.proxy_arg() + " --cacert " + purser_ca + " https://127.0.0.1:" +
                  std::to_string(origin.port()) + "/");
    CHECK(last_status(r.out) == 502);
    CHECK(r.out.find("certificate") != std::string::npos);
    CHECK(r.out.find("--upstream-ca FILE") != std::string::npos);  // the error names the fix
    CHECK(origin.requests().empty());
}

TEST_CASE("hook: pay replays once with the payment header and the identical body", "[proxy]") {
    origin_server origin([](origin_context& ctx) {
        if (ctx.req.find("X-PAYMENT") == ctx.req.end()) {
            auto res = text_response(402, R"({"x402Version":1,"accepts":[]})");
            res.set(purser::test::http::field::content_type, "application/json");
            return res;
        }
        auto res = text_response(200, "paid content");
        res.set("X-PAYMENT-RESPONSE", "eyJ0eCI6IjB4YWJjIn0=");
        return res;
    });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy({}, hook);
    const std::string body = "{\"prompt\":\"hello\",\"n\":1}";
    auto r = curl(proxy.proxy_arg() + " -H 'Content-Type: application/json' --data-binary '" + body +
                  "' " + url(origin.port(), "/paid?x=1"));
    CHECK(last_status(r.out) == 200);
    CHECK(r.out.find("paid content") != std::string::npos);
    CHECK(r.out.find("Purser-Paid: 10000 USDC purser-testnet 0xabc") != std::string::npos);

    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].body() == body);
    CHECK(reqs[1].body() == body);
    CHECK(reqs[1].method_string() == "POST");
    CHECK(reqs[1].target() == "/paid?x=1");
    CHECK(header_of(reqs[1], "X-PAYMENT") == "c2lnbmVk");
    CHECK(header_of(reqs[1], "Content-Type") == "application/json");
    // The paid retry went out on the connection that carried the 402 (still open and idle).
    CHECK(origin.connections() == 1);

    std::lock_guard lock(hook->m);
    REQUIRE(hook->required.size() == 1);
    CHECK(hook->required[0].agent == "bot");
    CHECK(hook->required[0].method == "POST");
    CHECK(hook->required[0].url == url(origin.port(), "/paid?x=1"));
    CHECK(hook->required[0].body_replayable);
    CHECK(hook->required[0].body_size == body.size());
    CHECK(hook->responses[0].body == R"({"x402Version":1,"accepts":[]})");
    CHECK(hook->paid_statuses == std::vector<unsigned>{200});
    CHECK(hook->paid_tokens == std::vector<std::uint64_t>{42});
    CHECK(hook->failures.empty());

    const auto log = proxy.log_with("\"paid\":\"10000\"");
    CHECK(log.find("\"paid\":\"10000\"") != std::string::npos);
    CHECK(log.find("\"ledger_id\":\"7\"") != std::string::npos);
    CHECK(log.find("c2lnbmVk") == std::string::npos);  // never the payment header
}

TEST_CASE("hook: a paid retry whose 402 connection the origin closed goes out on a new one", "[proxy]") {
    std::atomic<int> served{0};
    purser::test::latch first_closed;
    purser::test::raw_origin origin([&](purser::test::tcp::socket& s, purser::test::raw_origin& o) {
        std::string got;
        if (!o.read_until(s, got, "\r\n\r\n")) return;
        boost::system::error_code ec;
        if (served++ == 0) {
            // Keep-alive by its headers, closed while the payment is decided.
            const std::string res = "HTTP/1.1 402 Payment Required\r\nContent-Length: 3\r\n\r\npay";
            boost::asio::write(s, boost::asio::buffer(res), ec);
            s.shutdown(purser::test::tcp::socket::shutdown_both, ec);
            first_closed.open();
            return;
        }
        const std::string res = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
                                "X-PAYMENT-RESPONSE: eyJ0eCI6IjB4YWJjIn0=\r\n\r\npaid";
        boost::asio::write(s, boost::asio::buffer(res), ec);
    });
    auto hook = std::make_shared<recording_hook>();
    hook->on_402 = [&] { first_closed.wait(); };
    proxy_fixture proxy({}, hook);
    auto r = curl(proxy.proxy_arg() + " " + url(origin.port(), "/"));
    INFO(r.out);
    CHECK(last_status(r.out) == 200);
    CHECK(origin.connections() == 2);
    std::lock_guard lock(hook->m);
    CHECK(hook->paid_statuses == std::vector<unsigned>{200});
    CHECK(hook->failures.empty());
}

TEST_CASE("hook: a request already carrying a payment header never reaches the hook", "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(402, "pay up"); });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy({}, hook);
    auto r = curl(proxy.proxy_arg() + " -H 'X-PAYMENT: agent-made' " + url(origin.port(), "/"));
    CHECK(last_status(r.out) == 402);
    CHECK(r.out.find("pay up") != std::string::npos);
    auto v2 = curl(proxy.proxy_arg() + " -H 'PAYMENT-SIGNATURE: agent-made' " + url(origin.port(), "/"));
    CHECK(last_status(v2.out) == 402);
    std::lock_guard lock(hook->m);
    CHECK(hook->required.empty());
    CHECK(origin.requests().size() == 2);
}

TEST_CASE("hook: a paid retry answered 402 again is reported, not paid again", "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(402, "still no"); });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy({}, hook);
    auto r = curl(proxy.proxy_arg() + " " + url(origin.port(), "/"));
    CHECK(last_status(r.out) == 402);
    CHECK(origin.requests().size() == 2);
    std::lock_guard lock(hook->m);
    CHECK(hook->required.size() == 1);
    CHECK(hook->paid_statuses == std::vector<unsigned>{402});
}

TEST_CASE("hook: a 402 to the paid retry that the hook recovers from is paid once more, once", "[proxy]") {
    // The merchant refuses the first payment (a corrective 402) and takes the second.
    origin_server origin([](origin_context& ctx) {
        const auto paid = ctx.req.find("X-PAYMENT");
        if (paid == ctx.req.end() || paid->value() == "c2lnbmVk") return text_response(402, "corrective");
        return text_response(200, "paid content");
    });
    auto hook = std::make_shared<recording_hook>();
    hook->retries_on_402 = 1;
    proxy_fixture proxy({}, hook);
    auto r = curl(proxy.proxy_arg() + " --data-binary 'same body' " + url(origin.port(), "/"));
    CHECK(last_status(r.out) == 200);
    CHECK(r.out.find("paid content") != std::string::npos);
    CHECK(r.out.find("must not reach the agent") == std::string::npos);
    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(header_of(reqs[2], "X-PAYMENT") == "c2lnbmVkIGFnYWlu");
    CHECK(reqs[2].body() == "same body");
    {
        std::lock_guard lock(hook->m);
        CHECK(hook->paid_statuses == std::vector<unsigned>{402, 200});
        CHECK(hook->paid_tokens == std::vector<std::uint64_t>{42, 43});
    }

    // A hook that asks again after the second 402 is not followed: one retry per request.
    origin_server stubborn([](origin_context&) { return text_response(402, "never"); });
    auto hook2 = std::make_shared<recording_hook>();
    hook2->retries_on_402 = 5;
    proxy_fixture proxy2({}, hook2);
    auto r2 = curl(proxy2.proxy_arg() + " " + url(stubborn.port(), "/"));
    CHECK(last_status(r2.out) == 402);
    CHECK(stubborn.requests().size() == 3);
    std::lock_guard lock(hook2->m);
    CHECK(hook2->paid_tokens == std::vector<std::uint64_t>{42, 43});
}

TEST_CASE("hook: decline returns the merchant's 402 plus the decision header", "[proxy]") {
    origin_server origin([](origin_context&) {
        auto res = text_response(402, "terms");
        res.set("PAYMENT-REQUIRED", "eyJ4NDAyVmVyc2lvbiI6Mn0=");
        return res;
    });
    auto hook = std::make_shared<recording_hook>();
    hook->answer = payment_plan::action::decline;
    proxy_fixture proxy({}, hook);
    auto r = curl(proxy.proxy_arg() + " " + url(origin.port(), "/"));
    CHECK(last_status(r.out) == 402);
    CHECK(r.out.find("\r\n\r\nterms") != std::string::npos);
    CHECK(r.out.find("PAYMENT-REQUIRED: eyJ4NDAyVmVyc2lvbiI6Mn0=") != std::string::npos);
    CHECK(r.out.find("Purser-Decision: declined; reason=daily_limit_exceeded") != std::string::npos);
    CHECK(origin.requests().size() == 1);
    CHECK(proxy.log_with("\"decision\":\"declined\"").find("\"decision\":\"declined\"") !=
          std::string::npos);
}

TEST_CASE("hook: a body over max_replay_body streams through and is marked non-replayable",
          "[proxy]") {
    origin_server origin([](origin_context& ctx) {
        return text_response(402, std::to_string(ctx.req.body().size()));
    });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy([](config& c) { c.max_replay_body = 1000; }, hook);
    const std::string body(5000, 'z');
    auto r = curl(proxy.proxy_arg() + " --data-binary '" + body + "' " + url(origin.port(), "/"));
    CHECK(last_status(r.out) == 402);
    CHECK(r.out.find("\r\n\r\n5000") != std::string::npos);
    auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);  // never replayed
    CHECK(reqs[0].body() == body);
    std::lock_guard lock(hook->m);
    REQUIRE(hook->required.size() == 1);
    CHECK_FALSE(hook->required[0].body_replayable);
    REQUIRE(hook->failures.size() == 1);  // the `pay` answer still reaches a final state
    CHECK(hook->deliveries == std::vector<delivery>{delivery::not_sent});
}

TEST_CASE("hook: a paid retry that cannot reach the origin is reported as a failure", "[proxy]") {
    std::atomic<int> calls{0};
    purser::test::latch never;
    origin_server origin([&](origin_context&) {
        if (calls++ == 0) return text_response(402, "pay");
        never.wait();  // the paid retry hangs: the proxy times out
        return text_response(200, "late");
    });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy([](config& c) { c.upstream_timeout_ms = 300; }, hook);
    auto r = curl(proxy.proxy_arg() + " " + url(origin.port(), "/"));
    CHECK(last_status(r.out) == 504);
    // The retry was written: the payment may have reached the merchant, and the agent is told.
    CHECK(r.out.find("Purser-Decision: in_doubt; ledger=7") != std::string::npos);
    never.open();
    std::lock_guard lock(hook->m);
    REQUIRE(hook->failures.size() == 1);
    CHECK(hook->deliveries == std::vector<delivery>{delivery::maybe_delivered});
    CHECK(hook->paid_statuses.empty());
}

TEST_CASE("hook: a paid retry to an origin that refuses connections is not_sent", "[proxy]") {
    // An origin that answers one 402 and stops listening before it does, so the paid retry's
    // connect is refused: no byte of the payment can have left the proxy. shutdown() ends the
    // listening but keeps the port bound, so it cannot become some socket's ephemeral port.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    const auto port = ntohs(addr.sin_port);
    std::thread origin([listener] {
        const int c = ::accept(listener, nullptr, nullptr);
        ::shutdown(listener, SHUT_RDWR);
        if (c < 0) return;
        std::string got;
        char buf[4096];
        while (got.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        const std::string res =
            "HTTP/1.1 402 Payment Required\r\nContent-Length: 3\r\nConnection: close\r\n\r\npay";
        (void)!::write(c, res.data(), res.size());
        ::close(c);
    });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy({}, hook);
    auto r = curl(proxy.proxy_arg() + " " + url(port, "/"));
    origin.join();
    ::close(listener);
    INFO(r.out);
    INFO(proxy.log_text());
    CHECK(last_status(r.out) == 502);
    CHECK(r.out.find("Purser-Decision: released; ledger=7") != std::string::npos);
    std::lock_guard lock(hook->m);
    REQUIRE(hook->failures.size() == 1);
    CHECK(hook->deliveries == std::vector<delivery>{delivery::not_sent});
}

TEST_CASE("hook: merchant Purser headers are stripped and added values cannot split the response",
          "[proxy]") {
    origin_server origin([](origin_context& ctx) {
        auto res = text_response(ctx.req.find("X-PAYMENT") == ctx.req.end() ? 402 : 200, "body");
        res.set("Purser-Paid", "0 USDC forged");
        res.set("purser-remaining", "999 USD forged");
        return res;
    });
    auto hook = std::make_shared<recording_hook>();
    hook->paid_headers = {{"Purser-Paid", "1 USDC x 0xabc\r\nX-Injected: 1\r\n\r\nHTTP/1.1 200 OK"}};
    proxy_fixture proxy({}, hook);
    auto r = curl(proxy.proxy_arg() + " " + url(origin.port(), "/"));
    INFO(r.out);
    CHECK(last_status(r.out) == 200);
    CHECK(r.out.find("forged") == std::string::npos);
    CHECK(r.out.find("\r\nX-Injected") == std::string::npos);
    CHECK(r.out.find("Purser-Paid: 1 USDC x 0xabc  X-Injected: 1    HTTP/1.1 200 OK") !=
          std::string::npos);

    // A declined 402 carries only Purser's own decision, not the merchant's Purser-* headers.
    {
        std::lock_guard lock(hook->m);
        hook->answer = payment_plan::action::decline;
    }
    auto d = curl(proxy.proxy_arg() + " " + url(origin.port(), "/"));
    CHECK(last_status(d.out) == 402);
    CHECK(d.out.find("forged") == std::string::npos);
    CHECK(d.out.find("Purser-Decision: declined") != std::string::npos);
}

/// The port in the first line a child `purser proxy` prints ("... listening on 127.0.0.1:PORT").
int listening_port(FILE* out) {
    char line[256] = {};
    REQUIRE(std::fgets(line, sizeof line, out) != nullptr);
    const std::string first(line);
    const std::string prefix = "purser proxy listening on 127.0.0.1:";
    REQUIRE(first.rfind(prefix, 0) == 0);
    return std::atoi(first.c_str() + prefix.size());
}

/// A `purser proxy` child process with PURSER_HOME=home (other PURSER_* variables dropped), its
/// stdout piped back, its stderr to `stderr_file` when one is given, and nothing else open.
struct child_proxy {
    pid_t pid = -1;
    FILE* out = nullptr;  ///< The child's stdout; its first line named `port`.
    int port = 0;
};

/// Starts `purser proxy ARGS...` and waits for its listening line. Everything the child needs
/// is built before fork: the test's threads are running, and after fork only async-signal-safe
/// calls are allowed until exec. `fd_limit` lowers RLIMIT_NOFILE in the child only.
child_proxy start_child_proxy(const std::filesystem::path& home,
                              const std::vector<std::string>& args,
                              const std::string& stderr_file = {},
                              std::optional<rlimit> fd_limit = std::nullopt) {
    std::vector<std::string> env_strings{"PURSER_HOME=" + home.string()};
    for (char** e = environ; *e != nullptr; ++e)
        if (std::string_view(*e).rfind("PURSER_", 0) != 0) env_strings.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    // No admin listener: its default port would collide between tests running at once.
    std::vector<std::string> argv_strings{PURSER_BIN, "proxy", "--admin-listen", "off"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out_pipe[2];
    REQUIRE(::pipe(out_pipe) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(out_pipe[1], 1);
        if (!stderr_file.empty()) {
            const int err_fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(err_fd, 2);
        }
        // Only stdio goes to the proxy, so its descriptor count is its own.
        ::close_range(3, ~0U, 0);
        if (fd_limit && ::setrlimit(RLIMIT_NOFILE, &*fd_limit) != 0) ::_exit(126);
        ::execve(PURSER_BIN, argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    child_proxy child;
    child.pid = pid;
    child.out = ::fdopen(out_pipe[0], "r");
    child.port = listening_port(child.out);
    REQUIRE(child.port > 0);
    return child;
}

TEST_CASE("SIGTERM: purser proxy stops accepting, finishes the in-flight request, exits 0",
          "[proxy]") {
    purser::test::latch request_arrived;
    purser::test::latch terminated;
    origin_server origin([&](origin_context&) {
        request_arrived.open();
        terminated.wait();  // answer only after the proxy got SIGTERM
        return text_response(200, "finished after SIGTERM");
    });
    purser::test::temp_dir home;
    // The proxy refuses a default agent its store does not know.
    REQUIRE(purser::test::run_shell("PURSER_HOME='" + home.path().string() + "' " + PURSER_BIN +
                                    " agent add sigterm-test --unlimited >/dev/null")
                .exit_code == 0);

    const std::string log = (home.path() / "access.log").string();
    const auto child = start_child_proxy(
        home.path(), {"--listen", "127.0.0.1:0", "--default-agent", "sigterm-test", "--log", log,
                      "--threads", "2"});
    const pid_t pid = child.pid;
    FILE* out = child.out;
    const int port = child.port;
    CHECK(std::filesystem::exists(home.path() / "ca" / "ca.key"));  // auto-initialised

    purser::test::command_result slow;
    std::thread client([&] {
        slow = curl("-x http://127.0.0.1:" + std::to_string(port) + " " + url(origin.port(), "/slow"));
    });
    REQUIRE(request_arrived.wait());
    REQUIRE(::kill(pid, SIGTERM) == 0);
    // The listener closes before the proxy exits: wait until a new connection is refused.
    for (;;) {
        purser::test::net::io_context io;
        purser::test::tcp::socket s(io);
        boost::system::error_code ec;
        s.connect({purser::test::net::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)}, ec);
        if (ec) break;
        std::this_thread::yield();
    }
    terminated.open();
    client.join();
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    std::fclose(out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(last_status(slow.out) == 200);
    CHECK(slow.out.find("finished after SIGTERM") != std::string::npos);
    CHECK(purser::test::read_file(home.path() / "access.log").find("\"agent\":\"sigterm-test\"") !=
          std::string::npos);
}

TEST_CASE("SIGHUP: purser proxy keeps running, reopens its log and re-reads upstream CAs",
          "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "ok"); });
    purser::test::temp_dir home;
    REQUIRE(purser::test::run_shell("PURSER_HOME='" + home.path().string() + "' " + PURSER_BIN +
                                    " agent add hup-test --unlimited >/dev/null")
                .exit_code == 0);
    // An upstream CA file that a restarted private CA replaces while the proxy runs.
    test_tls first;
    const auto ca_file = home.path() / "upstream-ca.pem";
    std::filesystem::copy_file(first.ca_file(), ca_file);
    const auto log = home.path() / "access.log";
    const auto child = start_child_proxy(
        home.path(), {"--listen", "127.0.0.1:0", "--default-agent", "hup-test", "--log",
                      log.string(), "--upstream-ca", ca_file.string(), "--threads", "2"});
    const pid_t pid = child.pid;
    FILE* out = child.out;
    const int port = child.port;
    const std::string proxy = "-x http://127.0.0.1:" + std::to_string(port) + " ";

    // logrotate: the file moves away, SIGHUP, and the next request is logged in a new file.
    CHECK(last_status(curl(proxy + url(origin.port(), "/before")).out) == 200);
    for (int i = 0; i < 200 && purser::test::read_file(log).find("/before") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    std::filesystem::rename(log, home.path() / "access.log.1");
    // A CA the proxy did not trust at start-up now signs the origin.
    test_tls second;
    origin_server tls_origin([](origin_context&) { return text_response(200, "tls ok"); },
                             second.ctx);
    const std::string https = proxy + "--cacert " + (home.path() / "ca" / "ca.crt").string() +
                              " https://127.0.0.1:" + std::to_string(tls_origin.port()) + "/";
    CHECK(last_status(curl(https).out) == 502);
    std::ofstream(ca_file, std::ios::app) << purser::test::read_file(second.ca_file());

    REQUIRE(::kill(pid, SIGHUP) == 0);
    // Still running, and the reload took effect: the new CA is trusted, the new file is written.
    std::string after;
    for (int i = 0; i < 200; ++i) {
        after = curl(https).out;
        if (last_status(after) == 200) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    CHECK(last_status(after) == 200);
    CHECK(after.find("tls ok") != std::string::npos);
    CHECK(::kill(pid, 0) == 0);
    CHECK(last_status(curl(proxy + url(origin.port(), "/after")).out) == 200);
    std::string fresh;
    for (int i = 0; i < 200 && fresh.find("/after") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        fresh = purser::test::read_file(log);
    }
    CHECK(fresh.find("/after") != std::string::npos);
    CHECK(fresh.find("/before") == std::string::npos);

    REQUIRE(::kill(pid, SIGTERM) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    std::fclose(out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("SIGHUP: purser proxy reloads its config file for new connections and says what it kept",
          "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "ok"); });
    purser::test::temp_dir home;
    const auto config_file = home.path() / "purser.json";
    const auto first_log = home.path() / "first.log";
    const auto second_log = home.path() / "second.log";
    auto write_config = [&](const std::string& underscore, const std::filesystem::path& log,
                            const std::string& listen) {
        std::ofstream(config_file, std::ios::trunc)
            << R"({"listen": ")" << listen << R"(", "no_payments": true, "underscore_headers": ")"
            << underscore << R"(", "log": ")" << log.string() << R"("})";
    };
    write_config("drop", first_log, "127.0.0.1:0");
    REQUIRE(purser::test::run_shell("PURSER_HOME='" + home.path().string() + "' " + PURSER_BIN +
                                    " agent add hup-config --unlimited >/dev/null")
                .exit_code == 0);
    const auto err_file = home.path() / "stderr.txt";
    const auto child = start_child_proxy(
        home.path(), {"--config", config_file.string(), "--default-agent", "hup-config"},
        err_file.string());
    const std::string proxy = "-x http://127.0.0.1:" + std::to_string(child.port) + " ";
    const std::string underscored = proxy + "-H 'X_Trace: 1' " + url(origin.port(), "/u");
    CHECK(last_status(curl(underscored).out) == 200);  // dropped, then forwarded

    auto wait_for_stderr = [&](const std::string& text) {
        std::string got;
        for (int i = 0; i < 400 && got.find(text) == std::string::npos; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
            got = purser::test::read_file(err_file);
        }
        return got;
    };
    // A broken file changes nothing.
    std::ofstream(config_file, std::ios::trunc) << "{not json";
    REQUIRE(::kill(child.pid, SIGHUP) == 0);
    CHECK(wait_for_stderr("configuration not reloaded").find("configuration not reloaded") !=
          std::string::npos);
    CHECK(last_status(curl(underscored).out) == 200);

    // A good one applies to new connections; the listener it cannot move is named.
    write_config("reject", second_log, "127.0.0.1:1");
    REQUIRE(::kill(child.pid, SIGHUP) == 0);
    const auto said = wait_for_stderr("kept until a restart");
    CHECK(said.find("configuration reloaded") != std::string::npos);
    CHECK(said.find("kept until a restart: listen") != std::string::npos);
    const auto refused = curl(underscored).out;
    CHECK(last_status(refused) == 400);
    CHECK(last_status(curl(proxy + url(origin.port(), "/logged")).out) == 200);
    std::string logged;
    for (int i = 0; i < 200 && logged.find("/logged") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        logged = purser::test::read_file(second_log);
    }
    CHECK(logged.find("/logged") != std::string::npos);
    CHECK(purser::test::read_file(first_log).find("/logged") == std::string::npos);

    REQUIRE(::kill(child.pid, SIGTERM) == 0);
    int status = 0;
    REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
    std::fclose(child.out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("max_connections: extra clients wait, unserved and costing no CPU, until one closes",
          "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "served"); });
    proxy_fixture proxy([](config& c) { c.max_connections = 4; });
    const std::string request = "GET " + url(origin.port(), "/") +
                                " HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic Ym90OnRvazNu"
                                "\r\n\r\n";
    // Four keep-alive clients, each served once and then left idle: the cap is reached.
    std::vector<std::unique_ptr<raw_client>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<raw_client>(proxy.port));
        held.back()->send(request);
        CHECK(held.back()->read_until("served").find("served") != std::string::npos);
    }
    // Two more: the kernel completes their connect, the proxy does not accept them.
    raw_client fifth(proxy.port);
    raw_client sixth(proxy.port);
    fifth.send(request);
    sixth.send(request);
    CHECK_FALSE(fifth.readable_within(300));
    CHECK(proxy.log_with("max_connections_reached").find("\"max_connections\":4") !=
          std::string::npos);
    // The whole test process (proxy threads included) is idle meanwhile, not spinning.
    CHECK(cpu_share(::getpid(), std::chrono::milliseconds(1000)) < 0.3);
    CHECK_FALSE(fifth.readable_within(0));
    CHECK(origin.requests().size() == 4);

    // One closes: one waiting client is served; the other still waits for the next to close.
    held[0]->close();
    CHECK(fifth.read_until("served").find("HTTP/1.1 200") != std::string::npos);
    CHECK_FALSE(sixth.readable_within(300));
    held[1]->close();
    CHECK(sixth.read_until("served").find("HTTP/1.1 200") != std::string::npos);
    CHECK(origin.requests().size() == 6);
}

TEST_CASE("out of file descriptors: the proxy backs off instead of spinning, then recovers",
          "[proxy]") {
    origin_server origin([](origin_context&) { return text_response(200, "recovered"); });
    purser::test::temp_dir home;
    const std::string log = (home.path() / "access.log").string();
    const std::string err = (home.path() / "stderr.txt").string();

    REQUIRE(purser::test::run_shell("PURSER_HOME='" + home.path().string() + "' " + PURSER_BIN +
                                    " agent add emfile-test --unlimited >/dev/null")
                .exit_code == 0);
    // A soft limit the proxy raises to the hard one (which it cannot raise), and a hard limit
    // low enough that a few dozen clients exhaust it.
    const auto child = start_child_proxy(
        home.path(),
        {"--listen", "127.0.0.1:0", "--default-agent", "emfile-test", "--log", log, "--threads",
         "2"},
        err, rlimit{48, 96});
    const pid_t pid = child.pid;
    FILE* out = child.out;
    const auto port = static_cast<std::uint16_t>(child.port);
    const std::string stderr_text = purser::test::read_file(err);
    CHECK(stderr_text.find("open files limit 96 (raised from 48), hard limit 96") !=
          std::string::npos);
    CHECK(stderr_text.find("warning: max_connections 10000") != std::string::npos);

    // More idle clients than the proxy has descriptors: it accepts until accept() fails EMFILE.
    std::vector<std::unique_ptr<raw_client>> clients;
    for (int i = 0; i < 150; ++i) clients.push_back(std::make_unique<raw_client>(port));
    const auto failing = [&] {
        return purser::test::read_file(log).find("\"accept_failing\"") != std::string::npos;
    };
    for (int i = 0; i < 400 && !failing(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    const std::string during = purser::test::read_file(log);
    CHECK(during.find("Too many open files") != std::string::npos);
    // The backlog stays full, so every retry fails again: the back-off keeps the CPU idle.
    CHECK(cpu_share(pid, std::chrono::milliseconds(1500)) < 0.3);
    // Several retries have failed by now (50, 100, 200, 400, 800 ms): one line for them all.
    CHECK(count_of(purser::test::read_file(log), "\"accept_failing\"") == 1);

    // Descriptors come back when the clients leave; the proxy serves again.
    for (auto& c : clients) c->close();
    clients.clear();
    purser::test::command_result r;
    for (int i = 0; i < 20; ++i) {
        r = curl("-x http://127.0.0.1:" + std::to_string(port) + " " + url(origin.port(), "/"));
        if (last_status(r.out) == 200) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(last_status(r.out) == 200);
    CHECK(r.out.find("recovered") != std::string::npos);
    const std::string after = purser::test::read_file(log);
    CHECK(after.find("\"accept_resumed\"") != std::string::npos);

    REQUIRE(::kill(pid, SIGTERM) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    std::fclose(out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("purser proxy refuses default_agent on a non-loopback listener", "[proxy]") {
    purser::test::temp_dir home;
    const std::string env = "PURSER_HOME=" + home.path().string() + " ";
    auto refused = purser::test::run_command(env + PURSER_BIN +
                                             " proxy --listen 0.0.0.0:0 --default-agent bot");
    CHECK(refused.exit_code == 2);
    CHECK(refused.out.find("not loopback") != std::string::npos);
    CHECK(refused.out.find("--allow-unauthenticated") != std::string::npos);
    CHECK(refused.out.find("listening") == std::string::npos);
    auto from_env = purser::test::run_command(
        env + "PURSER_LISTEN=0.0.0.0:0 PURSER_DEFAULT_AGENT=bot " + PURSER_BIN + " proxy");
    CHECK(from_env.exit_code == 2);
    CHECK(from_env.out.find("not loopback") != std::string::npos);
}

TEST_CASE("purser proxy refuses a default agent the store does not know", "[proxy]") {
    purser::test::temp_dir home;
    const std::string env = "PURSER_HOME=" + home.path().string() + " timeout 30 ";
    auto refused = purser::test::run_command(
        env + PURSER_BIN + " proxy --listen 127.0.0.1:0 --default-agent ghost --no-payments");
    CHECK(refused.exit_code == 2);  // a configuration error (README "Exit codes")
    CHECK(refused.out.find("default_agent 'ghost'") != std::string::npos);
    CHECK(refused.out.find("purser agent add ghost") != std::string::npos);
    CHECK(refused.out.find("listening") == std::string::npos);
}
