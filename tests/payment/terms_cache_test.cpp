// The memo of a merchant's parsed 402 terms: equal text, equal terms; anything else parsed anew.
#include "purser/proxy/detail/terms_cache.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/networks.hpp"

namespace {

using namespace purser;
using json = nlohmann::json;

json terms(const std::string& amount) {
    return {{"x402Version", 2},
            {"resource", {{"url", "http://127.0.0.1:9/weather"}}},
            {"accepts",
             {{{"scheme", "exact"},
               {"network", std::string(protocol::testnet_caip2)},
               {"amount", amount},
               {"asset", std::string(protocol::testnet_usdc)},
               {"payTo", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
               {"maxTimeoutSeconds", 60},
               {"extra", {{"name", "USDC"}, {"version", "2"}}}}}}};
}

std::string header_of(const json& j) { return protocol::base64_encode(std::string_view(j.dump())); }

}  // namespace

TEST_CASE("terms cache: the same header is parsed once, and other bytes get their own terms") {
    proxy::detail::terms_cache cache;
    const std::string ten = header_of(terms("10000"));
    auto first = cache.read(ten, "{}");
    auto again = cache.read(ten, "ignored: the header wins");
    REQUIRE(first);
    REQUIRE(again);
    CHECK(first->get() == again->get());  // the memo, not a second parse
    CHECK((*first)->accepts.at(0).amount == protocol::uint256(10000));

    auto twenty = cache.read(header_of(terms("20000")), "{}");
    REQUIRE(twenty);
    CHECK(twenty->get() != first->get());
    CHECK((*twenty)->accepts.at(0).amount == protocol::uint256(20000));
}

TEST_CASE("terms cache: a malformed 402 is refused every time, never remembered") {
    proxy::detail::terms_cache cache;
    for (int i = 0; i < 2; ++i) {
        auto bad = cache.read(std::string_view("not base64!"), "{}");
        REQUIRE_FALSE(bad);
        CHECK(bad.error().detail.find("PAYMENT-REQUIRED") != std::string::npos);
    }
    // The same text as a v1 body is another input (a v2 body alone is refused), not the header's.
    const std::string body = terms("10000").dump();
    CHECK_FALSE(cache.read(std::nullopt, body));
    CHECK(cache.read(header_of(terms("10000")), body));
}

TEST_CASE("terms cache: bounded, and terms in use outlive a flush") {
    proxy::detail::terms_cache cache;
    auto kept = cache.read(header_of(terms("1")), {});
    REQUIRE(kept);
    const protocol::payment_required* first = kept->get();
    for (std::size_t i = 2; i <= proxy::detail::terms_cache::max_entries + 1; ++i) {
        REQUIRE(cache.read(header_of(terms(std::to_string(i))), {}));
    }
    // Full: emptied, so "1" is parsed anew; the copy held meanwhile is intact.
    auto reread = cache.read(header_of(terms("1")), {});
    REQUIRE(reread);
    CHECK(reread->get() != first);
    CHECK((*kept)->accepts.at(0).amount == protocol::uint256(1));
}

TEST_CASE("terms cache: a text over the key bound is parsed and not kept") {
    proxy::detail::terms_cache cache;
    json big = terms("10000");
    big["resource"]["description"] = std::string(proxy::detail::terms_cache::max_key_bytes, 'x');
    const std::string header = header_of(big);
    auto a = cache.read(header, {});
    auto b = cache.read(header, {});
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->get() != b->get());
}
