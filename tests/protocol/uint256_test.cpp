#include "purser/protocol/uint256.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

namespace {
const std::string max_text =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";
}

TEST_CASE("uint256 decimal round-trips at the edges", "[protocol][uint256]") {
    for (std::string s : {"0", "1", "9", "10", "18446744073709551615", "18446744073709551616",
                          "10000000000000000000", "340282366920938463463374607431768211455",
                          max_text.c_str()}) {
        auto v = uint256::from_decimal(s);
        REQUIRE(v);
        CHECK(v->to_decimal() == s);
    }
    CHECK(uint256::from_decimal("007")->to_decimal() == "7");
    CHECK(*uint256::from_decimal(max_text) == uint256::max());
}

TEST_CASE("uint256 rejects anything but plain digits", "[protocol][uint256]") {
    for (std::string bad : {"", "-1", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "1_000", "１"}) {
        INFO(bad);
        auto v = uint256::from_decimal(bad);
        REQUIRE_FALSE(v);
        CHECK(v.error().code == errc::invalid_decimal);
    }
}

TEST_CASE("uint256 overflow is an error, never a wrap", "[protocol][uint256]") {
    // 2^256 exactly.
    auto over = uint256::from_decimal(
        "115792089237316195423570985008687907853269984665640564039457584007913129639936");
    REQUIRE_FALSE(over);
    CHECK(over.error().code == errc::overflow);
    CHECK(uint256::from_decimal(std::string(100, '9')).error().code == errc::overflow);
    CHECK(uint256::max().add(uint256(1)).error().code == errc::overflow);
    CHECK(uint256(1).sub(uint256(2)).error().code == errc::underflow);
    CHECK(uint256::max().mul(uint256(2)).error().code == errc::overflow);
    CHECK(*uint256::max().mul(uint256(1)) == uint256::max());
}

TEST_CASE("uint256 arithmetic and ordering", "[protocol][uint256]") {
    auto a = *uint256::from_decimal("18446744073709551615");
    auto b = *a.add(uint256(1));
    CHECK(b.to_decimal() == "18446744073709551616");
    CHECK(*b.sub(uint256(1)) == a);
    CHECK(a < b);
    CHECK(b.bit_width() == 65);
    CHECK(a.fits_bits(64));
    CHECK_FALSE(b.fits_bits(64));
    CHECK((*b.mul(b)).to_decimal() == "340282366920938463463374607431768211456");
    std::uint64_t rem = 0;
    CHECK(uint256(1234567).div_small(1000, &rem) == uint256(1234));
    CHECK(rem == 567);
}

TEST_CASE("uint256 big-endian bytes", "[protocol][uint256]") {
    auto v = uint256(0x0102);
    auto be = v.to_be_bytes();
    CHECK(be[30] == 0x01);
    CHECK(be[31] == 0x02);
    CHECK(*uint256::from_be_bytes(be) == v);
    bytes long_zeros(40, 0);
    long_zeros.back() = 5;
    CHECK(*uint256::from_be_bytes(long_zeros) == uint256(5));
    bytes too_long(33, 1);
    CHECK(uint256::from_be_bytes(too_long).error().code == errc::overflow);
}
