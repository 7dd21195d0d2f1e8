// Traffic Purser must not touch: non-x402 402s, free routes, and failures that cost nothing.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include "world.hpp"

using purser::test::world;

TEST_CASE("a non-x402 402 and unpaid traffic pass through unchanged", "[e2e]") {
    world w;
    auto token = w.add_agent("reader");
    w.start_proxy();

    // A plain paywall (not x402) served by Python's http.server on a free port.
    purser::test::process paywall(
        {"/usr/bin/python3", "-c",
         "import http.server,sys\n"
         "class H(http.server.BaseHTTPRequestHandler):\n"
         "  def do_GET(s):\n"
         "    b=b'<html>subscribe to read</html>'\n"
         "    s.send_response(402);s.send_header('Content-Type','text/html');"
         "s.send_header('X-Paywall','classic');s.send_header('Content-Length',str(len(b)));s.end_headers();s.wfile.write(b)\n"
         "  def log_message(s,*a): pass\n"
         "srv=http.server.HTTPServer(('127.0.0.1',0),H)\n"
         "print('port',srv.server_address[1],flush=True)\n"
         "srv.serve_forever()\n"},
        {}, w.dir() / "logs", "paywall");
    auto port = paywall.wait_for(std::regex("port ([0-9]+)"));
    const std::string paywall_url = "http://127.0.0.1:" + port + "/article";
    auto direct = purser::test::curl({"--noproxy", "*", paywall_url});
    auto proxied = w.via_proxy("reader", token, {paywall_url});
    CHECK(proxied.status == 402);
    CHECK(proxied.body == direct.body);
    CHECK(proxied.header("x-paywall") == "classic");
    CHECK_FALSE(proxied.header("purser-decision"));

    for (const auto& base : {w.env("PURSER_TESTNET_MERCHANT_HTTP"), w.env("PURSER_TESTNET_MERCHANT_HTTPS")}) {
        auto free_direct = purser::test::curl({"--noproxy", "*", "--cacert", w.env("PURSER_TESTNET_CA"), base + "/free"});
        auto free_proxied = w.via_proxy("reader", token, {base + "/free"});
        CHECK(free_proxied.status == 200);
        CHECK(free_proxied.body == free_direct.body);
        CHECK_FALSE(free_proxied.header("purser-paid"));
    }
    CHECK(w.ledger("reader").empty());
}

TEST_CASE("an unreachable upstream gives 502 with a reason and no payment", "[e2e]") {
    world w;
    auto token = w.add_agent("lost");
    w.start_proxy();
    // Port 1 on loopback: nothing listens there.
    auto reply = w.via_proxy("lost", token, {"http://127.0.0.1:1/weather"});
    CHECK(reply.status == 502);
    CHECK_FALSE(reply.body.empty());
    CHECK(w.ledger("lost").empty());
}
