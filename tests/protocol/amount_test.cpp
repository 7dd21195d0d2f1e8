#include "purser/protocol/amount.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

TEST_CASE("human amounts convert to atomic units exactly", "[protocol][amount]") {
    CHECK(parse_units("0.01", 6)->to_decimal() == "10000");
    CHECK(parse_units("1", 6)->to_decimal() == "1000000");
    CHECK(parse_units(".5", 6)->to_decimal() == "500000");
    CHECK(parse_units("1.", 6)->to_decimal() == "1000000");
    CHECK(parse_units("0.000001", 6)->to_decimal() == "1");
    CHECK(parse_units("1.500000000", 6)->to_decimal() == "1500000");
    CHECK(parse_units("12", 0)->to_decimal() == "12");
    CHECK(parse_units("1.5", 18)->to_decimal() == "1500000000000000000");
}

TEST_CASE("human amounts reject what is not exact", "[protocol][amount]") {
    CHECK(parse_units("0.0000001", 6).error().code == errc::too_many_decimals);
    CHECK(parse_units("-1", 6).error().code == errc::invalid_decimal);
    CHECK(parse_units("1e6", 6).error().code == errc::invalid_decimal);
    CHECK(parse_units("1.2.3", 6).error().code == errc::invalid_decimal);
    CHECK(parse_units("", 6).error().code == errc::invalid_decimal);
    CHECK(parse_units(".", 6).error().code == errc::invalid_decimal);
    CHECK(parse_units("1,000", 6).error().code == errc::invalid_decimal);
    CHECK(parse_units(std::string(80, '9'), 6).error().code == errc::overflow);
}

TEST_CASE("atomic units format as the shortest exact decimal", "[protocol][amount]") {
    CHECK(format_units(uint256(10000), 6) == "0.01");
    CHECK(format_units(uint256(1000000), 6) == "1");
    CHECK(format_units(uint256(1), 6) == "0.000001");
    CHECK(format_units(uint256(0), 6) == "0");
    CHECK(format_units(uint256(1234567), 6) == "1.234567");
    CHECK(format_units(uint256(5), 0) == "5");
}
