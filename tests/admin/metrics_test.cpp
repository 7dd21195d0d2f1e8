// purser_proxy's metrics as Prometheus reads them: every render passes the strict parser, label
// values survive hostile bytes, money sums stay exact past 2^64, histograms are cumulative.
#include "purser/proxy/metrics.hpp"

#include <catch2/catch.hpp>

#include "prom_text.hpp"

using purser::protocol::uint256;
using purser::proxy::in_flight_sample;
using purser::proxy::metrics;
using purser::proxy::request_outcome;
namespace prom = purser::test::prom;

TEST_CASE("an empty registry renders every family and parses strictly", "[admin][metrics]") {
    metrics m;
    auto e = prom::parse(m.render({}));
    for (const char* name : {"purser_requests_total", "purser_payments_total", "purser_declines_total",
                             "purser_paid_atomic_total", "purser_in_flight_atomic",
                             "purser_upstream_duration_seconds", "purser_payment_duration_seconds"}) {
        INFO(name);
        REQUIRE(e.count(name) == 1);
        CHECK(e.at(name).typed);
        CHECK_FALSE(e.at(name).help.empty());
    }
    CHECK(e.at("purser_requests_total").type == "counter");
    CHECK(e.at("purser_in_flight_atomic").type == "gauge");
    CHECK(e.at("purser_upstream_duration_seconds").type == "histogram");
    CHECK(prom::value_of(e, "purser_requests_total", "purser_requests_total", {{"outcome", "paid"}}) == "0");
}

TEST_CASE("counters count what they were told, by label", "[admin][metrics]") {
    metrics m;
    m.count_request(request_outcome::paid);
    m.count_request(request_outcome::paid);
    m.count_request(request_outcome::declined);
    m.count_decline("agent_frozen");
    m.count_decline("agent_frozen");
    m.count_decline("per_request_limit_exceeded");
    m.count_payment("exact", "paid");
    m.count_payment("exact", "in_doubt");
    m.add_paid("a", "0xToken", "eip155:31337", uint256(1000));
    m.add_paid("a", "0xToken", "eip155:31337", uint256(234));
    m.add_paid("b", "0xToken", "eip155:31337", uint256(5));
    auto e = prom::parse(m.render({{"0xToken", "eip155:31337", uint256(77)}}));
    CHECK(prom::value_of(e, "purser_requests_total", "purser_requests_total", {{"outcome", "paid"}}) == "2");
    CHECK(prom::value_of(e, "purser_requests_total", "purser_requests_total", {{"outcome", "declined"}}) == "1");
    CHECK(prom::value_of(e, "purser_declines_total", "purser_declines_total", {{"reason", "agent_frozen"}}) == "2");
    CHECK(prom::value_of(e, "purser_declines_total", "purser_declines_total",
                         {{"reason", "per_request_limit_exceeded"}}) == "1");
    CHECK(prom::value_of(e, "purser_payments_total", "purser_payments_total",
                         {{"scheme", "exact"}, {"status", "in_doubt"}}) == "1");
    CHECK(prom::value_of(e, "purser_paid_atomic_total", "purser_paid_atomic_total",
                         {{"agent", "a"}, {"asset", "0xToken"}, {"network", "eip155:31337"}}) == "1234");
    CHECK(prom::value_of(e, "purser_paid_atomic_total", "purser_paid_atomic_total",
                         {{"agent", "b"}, {"asset", "0xToken"}, {"network", "eip155:31337"}}) == "5");
    CHECK(prom::value_of(e, "purser_in_flight_atomic", "purser_in_flight_atomic",
                         {{"asset", "0xToken"}, {"network", "eip155:31337"}}) == "77");
}

TEST_CASE("paid sums are exact integers far past what a double holds", "[admin][metrics]") {
    metrics m;
    auto big = uint256::from_decimal("123456789012345678901234567890");
    REQUIRE(big);
    m.add_paid("a", "t", "n", *big);
    m.add_paid("a", "t", "n", uint256(1));
    auto e = prom::parse(m.render({}));
    CHECK(prom::value_of(e, "purser_paid_atomic_total", "purser_paid_atomic_total",
                         {{"agent", "a"}, {"asset", "t"}, {"network", "n"}}) ==
          "123456789012345678901234567891");
}

TEST_CASE("hostile label values are escaped and still parse", "[admin][metrics]") {
    metrics m;
    const std::string nasty = "evil\"} 1\npurser_fake_total 9\\x";
    const std::string invalid_utf8 = std::string("ab\xff\xc0", 4) + "\xe2\x82\xac";  // bad bytes, then €
    m.add_paid(nasty, invalid_utf8, "net\n", uint256(3));
    m.count_decline(nasty);
    const std::string text = m.render({{nasty, "x", uint256(1)}});
    auto e = prom::parse(text);
    CHECK(e.count("purser_fake_total") == 0);
    CHECK(prom::value_of(e, "purser_paid_atomic_total", "purser_paid_atomic_total",
                         {{"agent", nasty},
                          {"asset", "ab\xEF\xBF\xBD\xEF\xBF\xBD\xe2\x82\xac"},
                          {"network", "net\n"}}) == "3");
    CHECK(prom::value_of(e, "purser_declines_total", "purser_declines_total", {{"reason", nasty}}) == "1");
    CHECK(purser::proxy::detail::escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}

TEST_CASE("latency histograms are cumulative with an exact sum in seconds", "[admin][metrics]") {
    metrics m;
    using std::chrono::milliseconds;
    m.observe_upstream(milliseconds(3));      // <= 0.005
    m.observe_upstream(milliseconds(7));      // <= 0.01
    m.observe_upstream(milliseconds(40'000)); // +Inf only
    m.observe_payment(std::chrono::microseconds(1'500'125));
    auto e = prom::parse(m.render({}));
    const std::string up = "purser_upstream_duration_seconds";
    CHECK(prom::value_of(e, up, up + "_bucket", {{"le", "0.005"}}) == "1");
    CHECK(prom::value_of(e, up, up + "_bucket", {{"le", "0.01"}}) == "2");
    CHECK(prom::value_of(e, up, up + "_bucket", {{"le", "30"}}) == "2");
    CHECK(prom::value_of(e, up, up + "_bucket", {{"le", "+Inf"}}) == "3");
    CHECK(prom::value_of(e, up, up + "_count") == "3");
    CHECK(prom::value_of(e, up, up + "_sum") == "40.01");
    const std::string pay = "purser_payment_duration_seconds";
    CHECK(prom::value_of(e, pay, pay + "_sum") == "1.500125");
    CHECK(prom::value_of(e, pay, pay + "_bucket", {{"le", "1"}}) == "0");
    CHECK(prom::value_of(e, pay, pay + "_bucket", {{"le", "2.5"}}) == "1");
}
