// The worker's cache of resolved origin names (proxy/src/dns_cache.hpp).
#include "dns_cache.hpp"

#include <catch2/catch.hpp>

using purser::proxy::detail::dns_cache;
namespace net = boost::asio;
using tcp = net::ip::tcp;

TEST_CASE("IP literals are never looked up and names are kept a few seconds", "[proxy][dns]") {
    dns_cache cache;
    const auto t0 = dns_cache::clock::time_point{} + std::chrono::hours(1);

    auto v4 = cache.find("127.0.0.1", 8080, t0);
    REQUIRE(v4);
    REQUIRE(v4->size() == 1);
    CHECK(v4->front() == tcp::endpoint(net::ip::make_address("127.0.0.1"), 8080));
    auto v6 = cache.find("::1", 443, t0);
    REQUIRE(v6);
    CHECK(v6->front() == tcp::endpoint(net::ip::make_address("::1"), 443));

    CHECK_FALSE(cache.find("api.example", 443, t0));
    const std::vector<tcp::endpoint> addresses{
        tcp::endpoint(net::ip::make_address("192.0.2.7"), 443),
        tcp::endpoint(net::ip::make_address("2001:db8::7"), 443)};
    cache.remember("api.example", 443, addresses, t0);
    CHECK(cache.find("api.example", 443, t0) == addresses);
    CHECK(cache.find("api.example", 443, t0 + dns_cache::ttl - std::chrono::milliseconds(1)) == addresses);
    CHECK_FALSE(cache.find("api.example", 80, t0));  // the port is part of the name
    CHECK_FALSE(cache.find("api.example", 443, t0 + dns_cache::ttl));  // expired: looked up again
    CHECK_FALSE(cache.find("api.example", 443, t0));                   // and forgotten

    cache.remember("empty.example", 443, {}, t0);  // a lookup that found nothing is not kept
    CHECK_FALSE(cache.find("empty.example", 443, t0));
}

TEST_CASE("the name cache stays bounded", "[proxy][dns]") {
    dns_cache cache;
    const auto t0 = dns_cache::clock::time_point{} + std::chrono::hours(1);
    const std::vector<tcp::endpoint> one{tcp::endpoint(net::ip::make_address("192.0.2.1"), 80)};
    for (std::size_t i = 0; i < dns_cache::max_names + 10; ++i)
        cache.remember("host" + std::to_string(i) + ".example", 80, one, t0);
    // The newest are kept; the cache started over once it was full.
    CHECK(cache.find("host" + std::to_string(dns_cache::max_names + 9) + ".example", 80, t0));
    CHECK_FALSE(cache.find("host0.example", 80, t0));
}
