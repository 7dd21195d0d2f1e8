#include "purser/proxy/detail/http_util.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/proxy/errc.hpp"

using namespace purser::proxy::detail;

TEST_CASE("absolute URLs parse into origin and target", "[proxy]") {
    auto o = parse_absolute_url("http://Example.COM:8080/a/b?x=1#frag");
    REQUIRE(o);
    CHECK(o->host == "example.com");
    CHECK(o->port == 8080);
    CHECK(o->target == "/a/b?x=1");
    CHECK(o->url() == "http://example.com:8080/a/b?x=1");

    auto d = parse_absolute_url("http://127.0.0.1");
    REQUIRE(d);
    CHECK(d->port == 80);
    CHECK(d->target == "/");

    auto v6 = parse_absolute_url("http://[::1]:9000?q");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->target == "/?q");
    CHECK(v6->authority() == "[::1]:9000");
}

TEST_CASE("every IPv4 spelling of a host reaches the proxy as its dotted-quad", "[proxy]") {
    for (const char* url : {"http://127.1:8080/p", "http://2130706433:8080/p",
                            "http://0x7f000001:8080/p", "http://0177.0.0.1:8080/p",
                            "http://127.0.0.1.:8080/p", "http://[::ffff:127.0.0.1]:8080/p"}) {
        INFO(url);
        auto o = parse_absolute_url(url);
        REQUIRE(o);
        CHECK(o->host == "127.0.0.1");
        CHECK(o->authority() == "127.0.0.1:8080");
        CHECK(o->target == "/p");
    }
    auto c = parse_authority("0x7f.1:443");
    REQUIRE(c);
    CHECK(c->first == "127.0.0.1");
    CHECK(c->second == 443);
    CHECK(parse_authority("LOCALHOST.:443")->first == "localhost");
}

TEST_CASE("bad request targets are rejected with a reason", "[proxy]") {
    CHECK_FALSE(parse_absolute_url("/origin/form"));
    CHECK_FALSE(parse_absolute_url("https://example.com/"));
    CHECK_FALSE(parse_absolute_url("http://user:pw@example.com/"));
    CHECK_FALSE(parse_absolute_url("http://exa mple.com/"));
    CHECK_FALSE(parse_absolute_url("http://example.com:99999/"));
    CHECK_FALSE(parse_absolute_url("http://:80/"));
    CHECK_FALSE(parse_authority("::1:443"));
    CHECK_FALSE(parse_authority("[::1"));
    auto a = parse_authority("[2001:db8::1]:443");
    REQUIRE(a);
    CHECK(a->first == "2001:db8::1");
    CHECK(a->second == 443);
    CHECK(parse_authority("example.com")->second == 0);  // CONNECT answers that with a 400
    // Numeric hosts that are not exactly one address: a resolver might read them differently
    // from the policy, so they end as a 400 whose reason is this one-line detail.
    for (const char* bad : {"http://256.1.1.1/", "http://1.2.3.4.5/", "http://0x1g/"}) {
        INFO(bad);
        auto o = parse_absolute_url(bad);
        REQUIRE_FALSE(o);
        CHECK(o.error().code == purser::proxy::errc::invalid_url);
        CHECK(o.error().detail.find("IPv4") != std::string::npos);
        CHECK(o.error().detail.find('\n') == std::string::npos);
    }
    CHECK_FALSE(parse_authority("256.1.1.1:443"));
}

TEST_CASE("Basic proxy credentials decode", "[proxy]") {
    const auto value = "Basic " + purser::protocol::base64_encode(std::string_view("bot:s3cr:et"));
    auto c = decode_basic(value);
    REQUIRE(c);
    CHECK(c->first == "bot");
    CHECK(c->second == "s3cr:et");  // only the first ':' separates
    CHECK_FALSE(decode_basic("Bearer abc"));
    CHECK_FALSE(decode_basic("Basic !!!"));
    CHECK_FALSE(decode_basic("Basic " + purser::protocol::base64_encode(std::string_view("nocolon"))));
}

TEST_CASE("intercept patterns", "[proxy]") {
    CHECK(should_intercept({"*"}, {}, "anything.example"));
    CHECK(should_intercept({"*.example.com"}, {}, "api.example.com"));
    CHECK_FALSE(should_intercept({"*.example.com"}, {}, "example.com"));
    CHECK_FALSE(should_intercept({"*.example.com"}, {}, "badexample.com"));
    CHECK(should_intercept({"Example.com"}, {}, "example.com"));
    CHECK(should_intercept({"*"}, {"*.bank.test"}, "api.merchant.test"));
    CHECK_FALSE(should_intercept({"*"}, {"*.bank.test"}, "www.bank.test"));
    CHECK_FALSE(should_intercept({}, {}, "api.merchant.test"));
    // Patterns are canonicalised too, so any spelling of an address names it.
    CHECK_FALSE(should_intercept({"*"}, {"127.1"}, "127.0.0.1"));
    CHECK_FALSE(should_intercept({"*"}, {"LOCALHOST."}, "localhost"));
    CHECK(should_intercept({"0x7f000001"}, {}, parse_absolute_url("http://0177.0.0.1/")->host));
}

TEST_CASE("hop-by-hop names include those Connection lists, never framing", "[proxy]") {
    const auto connection = "keep-alive, X-Secret-Hop ,transfer-encoding,Content-Length";
    CHECK(is_hop_by_hop("Connection", connection));
    CHECK(is_hop_by_hop("proxy-authorization", connection));
    CHECK(is_hop_by_hop("Proxy-Authorization", ""));
    CHECK(is_hop_by_hop("x-secret-hop", connection));
    CHECK(is_hop_by_hop("X-SECRET-HOP", connection));
    CHECK(is_hop_by_hop("upgrade", connection));
    CHECK_FALSE(is_hop_by_hop("x-secret-hop", "keep-alive"));
    CHECK_FALSE(is_hop_by_hop("x-secret", connection));
    CHECK_FALSE(is_hop_by_hop("transfer-encoding", connection));
    CHECK_FALSE(is_hop_by_hop("content-length", connection));
    CHECK_FALSE(is_hop_by_hop("accept", connection));
}

TEST_CASE("log URLs drop the query", "[proxy]") {
    CHECK(redact_url("http://h:80/p?api_key=SECRET") == "http://h:80/p");
    CHECK(redact_url("https://h:443/p") == "https://h:443/p");
}

TEST_CASE("the first bytes in a tunnel tell TLS from a plain HTTP request line", "[proxy]") {
    CHECK(sniff_tunnel("") == tunnel_sniff::need_more);
    CHECK(sniff_tunnel("\x16") == tunnel_sniff::need_more);
    CHECK(sniff_tunnel(std::string_view("\x16\x03\x01\x02\x00", 5)) == tunnel_sniff::tls);
    CHECK(sniff_tunnel("\x16\x04") == tunnel_sniff::unknown);
    CHECK(sniff_tunnel("GE") == tunnel_sniff::need_more);
    CHECK(sniff_tunnel("GET / HTTP/1.1\r\n") == tunnel_sniff::http);
    CHECK(sniff_tunnel("M-SEARCH * HTTP/1.1") == tunnel_sniff::http);
    CHECK(sniff_tunnel(" GET /") == tunnel_sniff::unknown);
    CHECK(sniff_tunnel("GET\r\n") == tunnel_sniff::unknown);
    CHECK(sniff_tunnel(std::string(40, 'A')) == tunnel_sniff::unknown);
}

TEST_CASE("a later HTTP/1 minor version in the request line is rewritten to 1.1", "[proxy]") {
    std::string later = "GET / HTTP/1.2\r\nHost: h\r\n\r\n";
    CHECK(rewrite_later_minor_version(later.data(), later.size()));
    CHECK(later == "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    std::string partial = "GET / HTTP/1.2";
    CHECK_FALSE(rewrite_later_minor_version(partial.data(), partial.size()));
    for (std::string kept : {"GET / HTTP/1.0\r\n", "GET / HTTP/2.2\r\n", "GET / HTTP/1.1\r\n",
                             "GET /HTTP/1.2\r\n"}) {
        const auto before = kept;
        CHECK(rewrite_later_minor_version(kept.data(), kept.size()));
        CHECK(kept == before);
    }
}
