#include "purser/protocol/url.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

namespace {

std::string canon(std::string_view text) {
    auto h = canonical_host(text);
    return h ? *h : "<refused: " + h.error().detail + ">";
}

bool refused(std::string_view text) {
    auto h = canonical_host(text);
    return !h && h.error().code == errc::invalid_host;
}

}  // namespace

TEST_CASE("every IPv4 spelling a resolver accepts becomes one dotted-quad", "[protocol][url]") {
    CHECK(canon("127.0.0.1") == "127.0.0.1");
    CHECK(canon("127.1") == "127.0.0.1");
    CHECK(canon("127.0.1") == "127.0.0.1");
    CHECK(canon("2130706433") == "127.0.0.1");
    CHECK(canon("0x7f000001") == "127.0.0.1");
    CHECK(canon("0X7F000001") == "127.0.0.1");
    CHECK(canon("0177.0.0.1") == "127.0.0.1");
    CHECK(canon("0x7f.1") == "127.0.0.1");
    CHECK(canon("0x7f.0.0.0x1") == "127.0.0.1");
    CHECK(canon("017700000001") == "127.0.0.1");
    CHECK(canon("127.0.0.1.") == "127.0.0.1");
    CHECK(canon("0") == "0.0.0.0");
    CHECK(canon("00") == "0.0.0.0");
    CHECK(canon("10.0xffff") == "10.0.255.255");
    CHECK(canon("10.1.65535") == "10.1.255.255");
    CHECK(canon("192.0x00a8.0.1") == "192.168.0.1");
    CHECK(canon("4294967295") == "255.255.255.255");
    CHECK(canon("169.254.169.254") == "169.254.169.254");
    CHECK(canon("0xa9fea9fe") == "169.254.169.254");
}

TEST_CASE("numeric hosts that are not exactly one address are refused", "[protocol][url]") {
    for (const char* bad : {"256.1.1.1", "1.2.3.4.5", "0x1g", "1.2.3.256", "1.2.65536",
                            "1.16777216", "4294967296", "0x100000000", "08.1.1.1", "09", "0x",
                            "0x.1", "1.0x", "99999999999999999999", "1.2.3.4.com.5",
                            "example.0x10", "7f000001", "1host", "1.2.3.4..", "1..2"}) {
        INFO(bad);
        CHECK(refused(bad));
    }
    CHECK(canonical_host("256.1.1.1").error().detail.find("IPv4") != std::string::npos);
}

TEST_CASE("registered names: case, trailing dot, characters, lengths", "[protocol][url]") {
    CHECK(canon("Example.COM") == "example.com");
    CHECK(canon("LOCALHOST.") == "localhost");
    CHECK(canon("api_v2.my-host.example") == "api_v2.my-host.example");
    CHECK(canon("1password.com") == "1password.com");
    CHECK(canon("3com.com") == "3com.com");
    CHECK(canon("bad.cafe") == "bad.cafe");
    CHECK(canon("x1") == "x1");
    const std::string label63(63, 'a');
    CHECK(canon(label63 + ".com") == label63 + ".com");
    CHECK(refused(std::string(64, 'a') + ".com"));
    std::string name253;
    while (name253.size() < 253) name253 += name253.empty() ? "a" : ".a";
    CHECK(name253.size() == 253);
    CHECK(canon(name253) == name253);
    CHECK(canon(name253 + ".") == name253);
    CHECK(refused(name253 + "a"));
    for (const char* bad : {"", ".", "..", "a..b", ".a", "a.b..", "exa mple.com", "ex%41mple.com",
                            "a/b", "a\\b", "a@b", "a*b", "caf\xc3\xa9.fr", "a\tb", "a\r\nb"}) {
        INFO(bad);
        CHECK(refused(bad));
    }
}

TEST_CASE("IPv6 literals are validated and written as RFC 5952", "[protocol][url]") {
    CHECK(canon("::1") == "::1");
    CHECK(canon("[::1]") == "::1");
    CHECK(canon("0:0:0:0:0:0:0:1") == "::1");
    CHECK(canon("::") == "::");
    CHECK(canon("2001:DB8::1") == "2001:db8::1");
    CHECK(canon("2001:0db8:0000:0000:0000:0000:0000:0001") == "2001:db8::1");
    CHECK(canon("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");  // first of equal runs
    CHECK(canon("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");  // one zero stays
    CHECK(canon("2001:0:0:1:0:0:0:1") == "2001:0:0:1::1");          // longest run
    CHECK(canon("fe80::1:2") == "fe80::1:2");
    CHECK(canon("1::") == "1::");
    // IPv4-mapped addresses reach the IPv4 host, so they are that host.
    CHECK(canon("::ffff:127.0.0.1") == "127.0.0.1");
    CHECK(canon("[::FFFF:7f00:1]") == "127.0.0.1");
    CHECK(canon("0:0:0:0:0:ffff:a9fe:a9fe") == "169.254.169.254");
    // IPv4-compatible and NAT64 addresses are other hosts: they stay IPv6.
    CHECK(canon("::7f00:1") == "::7f00:1");
    CHECK(canon("64:ff9b::7f00:1") == "64:ff9b::7f00:1");
    for (const char* bad : {":::", "1:2:3:4:5:6:7:8:9", "::1%lo", "fe80::1%25eth0", "[::1",
                            "::1]", "[127.0.0.1]", "[]", "::g", "::ffff:127.1",
                            "::ffff:0177.0.0.1", "1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17"}) {
        INFO(bad);
        CHECK(refused(bad));
    }
}

TEST_CASE("canonical hosts are a fixed point", "[protocol][url]") {
    for (const char* h : {"127.1", "0x7f000001", "LOCALHOST.", "[::FFFF:7f00:1]",
                          "2001:0db8::0001", "api.Example.com", "::7f00:1"}) {
        const auto once = canonical_host(h);
        REQUIRE(once);
        CHECK(canonical_host(*once).value() == *once);
    }
}

TEST_CASE("authorities: hosts, brackets, ports", "[protocol][url]") {
    auto a = parse_authority("Example.COM:8443");
    REQUIRE(a);
    CHECK(a->host == "example.com");
    CHECK(a->port == 8443);
    auto b = parse_authority("[2001:DB8::1]:443");
    REQUIRE(b);
    CHECK(b->host == "2001:db8::1");
    CHECK(b->port == 443);
    auto c = parse_authority("127.1");
    REQUIRE(c);
    CHECK(c->host == "127.0.0.1");
    CHECK_FALSE(c->port);
    auto d = parse_authority("host:");
    REQUIRE(d);
    CHECK_FALSE(d->port);
    CHECK(parse_authority("h:1")->port == 1);
    CHECK(parse_authority("h:65535")->port == 65535);
    for (const char* bad : {"", "::1:443", "[::1", "[::1]x", "[::1]443", "h:0", "h:65536",
                            "h:-1", "h:+80", "h:8o", "h:99999999999", ":80", "user@h:80",
                            "h:80:81"}) {
        INFO(bad);
        CHECK_FALSE(parse_authority(bad));
    }
    CHECK(parse_authority("256.1.1.1:80").error().code == errc::invalid_host);
    CHECK(parse_authority("h:0").error().code == errc::invalid_url);
    CHECK(format_authority("::1", 80) == "[::1]:80");
    CHECK(format_authority("127.0.0.1", 80) == "127.0.0.1:80");
}

TEST_CASE("URLs: scheme, default ports, target, fragment", "[protocol][url]") {
    auto u = parse_url("HTTP://Example.COM:8080/a/b?x=1#frag");
    REQUIRE(u);
    CHECK(u->scheme == "http");
    CHECK_FALSE(u->tls());
    CHECK(u->host == "example.com");
    CHECK(u->port == 8080);
    CHECK(u->target == "/a/b?x=1");
    CHECK(u->authority() == "example.com:8080");

    auto s = parse_url("https://api.example.com");
    REQUIRE(s);
    CHECK(s->tls());
    CHECK(s->port == 443);
    CHECK(s->target == "/");

    auto q = parse_url("http://[::1]:9000?q=1#x");
    REQUIRE(q);
    CHECK(q->host == "::1");
    CHECK(q->target == "/?q=1");
    CHECK(q->authority() == "[::1]:9000");

    CHECK(parse_url("http://h#only-fragment")->target == "/");
    CHECK(parse_url("http://h/")->port == 80);
    CHECK(parse_url("http://0x7f000001:81/p")->authority() == "127.0.0.1:81");
    CHECK(parse_url("http://0177.0.0.1/")->host == "127.0.0.1");
    CHECK(parse_url("http://2130706433/")->host == "127.0.0.1");
    CHECK(parse_url("http://localhost./")->host == "localhost");
    CHECK(parse_url("http://[::ffff:127.0.0.1]:8080/")->authority() == "127.0.0.1:8080");
}

TEST_CASE("URLs Purser refuses", "[protocol][url]") {
    for (const char* bad : {"/origin/form", "example.com/", "ftp://example.com/", "http:/x",
                            "http//x", "http://", "http:///p", "http://:80/",
                            "http://user:pw@example.com/", "http://user@example.com/",
                            "http://evil.com\\@127.0.0.1/", "http://127.0.0.1\\.evil.com/",
                            "http://exa mple.com/", "http://example.com:99999/",
                            "http://example.com:0/", "http://256.1.1.1/", "http://1.2.3.4.5/",
                            "http://0x1g/", "http://h/a b", "http://h/\x01", "http://h/caf\xc3\xa9"}) {
        INFO(bad);
        CHECK_FALSE(parse_url(bad));
    }
    CHECK(parse_url("http://u@h/").error().code == errc::invalid_url);
    CHECK(parse_url("http://1.2.3.4.5/").error().code == errc::invalid_host);
}

TEST_CASE("host patterns: one grammar, canonical comparison", "[protocol][url]") {
    CHECK(valid_host_pattern("*"));
    CHECK(valid_host_pattern("*.example.com"));
    CHECK(valid_host_pattern("api.example.com"));
    CHECK(valid_host_pattern("127.1"));
    CHECK(valid_host_pattern("[::1]"));
    CHECK(valid_host_pattern("::1"));
    CHECK(valid_host_pattern("LOCALHOST."));
    for (const char* bad : {"", "*.", "*x", "**", "*.*.com", "a.*.com", "api.*", "*.1",
                            "*.127.0.0.1", "*.::1", "*.256.1.1.1", "256.1.1.1", "exa mple.com",
                            "a..b", "*example.com"}) {
        INFO(bad);
        CHECK_FALSE(valid_host_pattern(bad));
    }

    CHECK(host_pattern_matches("*", "anything.example"));
    CHECK(host_pattern_matches("*", "127.0.0.1"));
    CHECK(host_pattern_matches("*.example.com", "api.example.com"));
    CHECK(host_pattern_matches("*.EXAMPLE.com.", "a.b.example.com"));
    CHECK_FALSE(host_pattern_matches("*.example.com", "example.com"));
    CHECK_FALSE(host_pattern_matches("*.example.com", "badexample.com"));
    CHECK_FALSE(host_pattern_matches("api.example.com", "api.example.com.evil.net"));
    CHECK(host_pattern_matches("API.example.com", "api.example.com"));
    CHECK(host_pattern_matches("LOCALHOST.", "localhost"));
    // A policy written in any IPv4 spelling matches the canonical host, and the reverse.
    CHECK(host_pattern_matches("127.0.0.1", canonical_host("127.1").value()));
    CHECK(host_pattern_matches("127.0.0.1", canonical_host("2130706433").value()));
    CHECK(host_pattern_matches("127.0.0.1", canonical_host("0x7f000001").value()));
    CHECK(host_pattern_matches("127.0.0.1", canonical_host("0177.0.0.1").value()));
    CHECK(host_pattern_matches("127.0.0.1", canonical_host("::ffff:127.0.0.1").value()));
    CHECK(host_pattern_matches("127.1", "127.0.0.1"));
    CHECK(host_pattern_matches("[::1]", "::1"));
    CHECK(host_pattern_matches("0:0::1", "::1"));
    CHECK_FALSE(host_pattern_matches("127.0.0.1", "127.0.0.2"));
    // An invalid pattern matches nothing, not even its own text.
    CHECK_FALSE(host_pattern_matches("256.1.1.1", "256.1.1.1"));
    CHECK_FALSE(host_pattern_matches("a.*.com", "a.*.com"));
}
