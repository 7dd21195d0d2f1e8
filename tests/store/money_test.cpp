#include "purser/store/money.hpp"

#include <catch2/catch.hpp>

#include "purser/store/agent.hpp"
#include "purser/store/errc.hpp"
#include "purser/store/text.hpp"

using namespace purser::store;
using purser::protocol::uint256;

TEST_CASE("token amounts convert to micro-USD exactly, rounding dust up", "[store][money]") {
    CHECK(to_usd_micros(uint256(10000), 6).value() == 10000);
    CHECK(to_usd_micros(uint256(5), 2).value() == 50000);  // $0.05 at 2 decimals
    CHECK(to_usd_micros(uint256(7), 0).value() == 7'000'000);
    const auto one_usd_18 = uint256::from_decimal("1000000000000000000").value();
    CHECK(to_usd_micros(one_usd_18, 18).value() == 1'000'000);
    // 1 wei of an 18-decimal stablecoin is not a whole micro-USD: it counts as one.
    CHECK(to_usd_micros(uint256(1), 18).value() == 1);
    CHECK(to_usd_micros(uint256::from_decimal("1000000000001").value(), 18).value() == 2);
    CHECK(to_usd_micros(uint256(0), 18).value() == 0);
    // 77 decimals: divided in 19-digit chunks.
    CHECK(to_usd_micros(uint256(1), 77).value() == 1);
    CHECK(to_usd_micros(uint256::max(), 6).error().code == errc::overflow);
    CHECK(to_usd_micros(uint256(1), 78).error().code == errc::invalid_argument);
    CHECK(to_usd_micros(uint256(max_countable_usd_micros), 6).value() == max_countable_usd_micros);
    CHECK(to_usd_micros(uint256(max_countable_usd_micros).add(uint256(1)).value(), 6).error().code ==
          errc::overflow);
}

TEST_CASE("UTC day and calendar month buckets", "[store][money]") {
    // 2026-11-23T12:00:00Z
    const std::uint64_t t = 1'795'435'200'000ULL;
    CHECK(utc_date(t) == "2026-11-23");
    CHECK(iso8601_utc(t + 1234) == "2026-11-23T12:00:01.234Z");
    CHECK(utc_day(t) == 20780);
    CHECK(utc_month(t) == (2026 - 1970) * 12 + 10);
    CHECK(iso8601_utc(utc_month_start_ms(t)) == "2026-11-01T00:00:00.000Z");
    // Leap day and year end.
    const std::uint64_t leap = parse_time("2028-02-29T23:59:59Z", 0).value();
    CHECK(iso8601_utc(leap) == "2028-02-29T23:59:59.000Z");
    CHECK(utc_month(leap + 1000) == utc_month(leap) + 1);
    const std::uint64_t nye = parse_time("2026-12-31T23:59:59Z", 0).value();
    CHECK(utc_month(nye + 1000) == utc_month(nye) + 1);
    CHECK(utc_day(nye + 1000) == utc_day(nye) + 1);
}

TEST_CASE("USD text and times parse strictly", "[store][money]") {
    CHECK(parse_usd("5").value() == 5'000'000);
    CHECK(parse_usd("0.10").value() == 100'000);
    CHECK(parse_usd("0.000001").value() == 1);
    CHECK(format_usd(100'000) == "0.1");
    CHECK(format_usd(5'000'000) == "5");
    CHECK_FALSE(parse_usd("-1"));
    CHECK_FALSE(parse_usd("1e3"));
    CHECK_FALSE(parse_usd("0.0000001"));
    CHECK_FALSE(parse_usd(""));
    CHECK(parse_usd("99999999999999999999").error().code == errc::overflow);

    const std::uint64_t now = 1'795'435'200'000ULL;
    CHECK(parse_time("24h", now).value() == now - 86'400'000);
    CHECK(parse_time("30d", now).value() == now - 30ULL * 86'400'000);
    CHECK(parse_time("90s", now).value() == now - 90'000);
    CHECK(parse_time("2026-11-23", now).value() == 1'795'392'000'000ULL);
    CHECK(parse_time("2026-11-23T12:00Z", now).value() == now);
    CHECK(parse_time("2026-11-23T12:00:00", now).value() == now);
    for (const char* bad : {"", "h", "-1h", "24x", "2026-13-01", "2026-02-30", "2026-11-23T25:00",
                            "2026-11-23T12:00:00+01:00", "1969-12-31", "yesterday"}) {
        CHECK_FALSE(parse_time(bad, now));
    }
}

TEST_CASE("agent names and host patterns", "[store][agent]") {
    CHECK(valid_agent_name("research-bot_1.v2"));
    CHECK_FALSE(valid_agent_name(""));
    CHECK_FALSE(valid_agent_name("a:b"));
    CHECK_FALSE(valid_agent_name("a@b"));
    CHECK_FALSE(valid_agent_name(std::string(65, 'a')));
    CHECK(valid_host_pattern("api.example.com"));
    CHECK(valid_host_pattern("*.example.com"));
    CHECK(valid_host_pattern("*"));  // one grammar with the proxy's intercept lists
    CHECK(valid_host_pattern("127.1"));
    CHECK(valid_host_pattern("[::1]"));
    CHECK_FALSE(valid_host_pattern("a.*.com"));
    CHECK_FALSE(valid_host_pattern("exa mple.com"));
    CHECK_FALSE(valid_host_pattern("256.1.1.1"));
    CHECK_FALSE(valid_host_pattern("*.127.0.0.1"));
    CHECK(host_matches("*.example.com", "api.example.com"));
    CHECK(host_matches("*.example.com", "a.b.EXAMPLE.com"));
    CHECK_FALSE(host_matches("*.example.com", "example.com"));
    CHECK_FALSE(host_matches("*.example.com", "badexample.com"));
    CHECK(host_matches("API.example.com", "api.example.com"));
    CHECK_FALSE(host_matches("api.example.com", "api.example.com.evil.net"));
    // The host is canonicalised by the store, whatever the caller passes.
    CHECK(host_matches("127.0.0.1", "127.1"));
    CHECK(host_matches("127.0.0.1", "2130706433"));
    CHECK(host_matches("localhost", "LOCALHOST."));
    CHECK(host_matches("*", "api.example.com"));
    CHECK_FALSE(host_matches("*", "256.1.1.1"));  // not a host at all
}

TEST_CASE("merchant text is cut with a marker and shown without terminal escapes", "[store][text]") {
    CHECK(bounded_text("short", 64) == "short");
    const std::string cut = bounded_text(std::string(100, 'x'), 64);
    CHECK(cut.size() <= 64);
    CHECK(cut.find("...[cut ") != std::string::npos);
    // A multi-byte UTF-8 character is never split at the cut.
    std::string euros;
    for (int i = 0; i < 40; ++i) euros += "\xe2\x82\xac";  // U+20AC, 3 bytes
    const std::string e = bounded_text(euros, 64);
    CHECK(e.substr(0, e.find("...")).size() % 3 == 0);

    CHECK(printable("plain text, café") == "plain text, café");
    CHECK(printable("\x1b[2J\x1b[31mred\a") == "\\x1b[2J\\x1b[31mred\\x07");
    CHECK(printable("a\r\nb\tc") == "a\\x0d\\x0ab\\x09c");
    CHECK(printable("a\r\nb\tc", true) == "a\r\nb\tc");
    CHECK(printable("csi\xc2\x9b" "2J") == "csi\\x9b2J");  // U+009B, the 8-bit CSI
    CHECK(printable(std::string("nul\0x", 5)) == "nul\\x00x");
}
