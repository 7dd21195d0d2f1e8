#include "purser/proxy/detail/http_util.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "purser/protocol/bytes.hpp"

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
    CHECK(host_matches("*", "anything.example"));
    CHECK(host_matches("*.example.com", "api.EXAMPLE.com"));
    CHECK_FALSE(host_matches("*.example.com", "example.com"));
    CHECK_FALSE(host_matches("*.example.com", "badexample.com"));
    CHECK(host_matches("Example.com", "example.com"));
    CHECK(should_intercept({"*"}, {"*.bank.test"}, "api.merchant.test"));
    CHECK_FALSE(should_intercept({"*"}, {"*.bank.test"}, "www.bank.test"));
    CHECK_FALSE(should_intercept({}, {}, "api.merchant.test"));
}

TEST_CASE("hop-by-hop names include those Connection lists, never framing", "[proxy]") {
    const auto names = hop_by_hop_names("keep-alive, X-Secret-Hop, transfer-encoding");
    const auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    CHECK(has("connection"));
    CHECK(has("proxy-authorization"));
    CHECK(has("x-secret-hop"));
    CHECK(has("upgrade"));
    CHECK_FALSE(has("transfer-encoding"));
}

TEST_CASE("log URLs drop the query", "[proxy]") {
    CHECK(redact_url("http://h:80/p?api_key=SECRET") == "http://h:80/p");
    CHECK(redact_url("https://h:443/p") == "https://h:443/p");
}
