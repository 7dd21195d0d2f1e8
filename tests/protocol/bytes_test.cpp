#include "purser/protocol/bytes.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

TEST_CASE("hex round-trips and rejects bad digits", "[protocol][hex]") {
    bytes data{0x00, 0x01, 0xab, 0xff};
    CHECK(to_hex(data) == "0x0001abff");
    CHECK(to_hex(data, false) == "0001abff");
    CHECK(*from_hex("0x0001ABff") == data);
    CHECK(*from_hex("0001abff") == data);
    CHECK(from_hex("0x").value().empty());
    CHECK(from_hex("0x123").error().code == errc::invalid_hex);
    CHECK(from_hex("0xzz").error().code == errc::invalid_hex);
    CHECK(from_hex("0x 1").error().code == errc::invalid_hex);
}

TEST_CASE("bytes32 needs exactly 32 bytes with a 0x prefix", "[protocol][hex]") {
    std::string ok = "0x" + std::string(64, 'a');
    CHECK(bytes32_from_hex(ok).has_value());
    CHECK(bytes32_from_hex(std::string(64, 'a')).error().code == errc::invalid_hex);
    CHECK(bytes32_from_hex("0x" + std::string(62, 'a')).error().code == errc::invalid_value);
}

TEST_CASE("base64 encodes standard with padding (RFC 4648 test vectors)", "[protocol][base64]") {
    CHECK(base64_encode(std::string_view("")) == "");
    CHECK(base64_encode(std::string_view("f")) == "Zg==");
    CHECK(base64_encode(std::string_view("fo")) == "Zm8=");
    CHECK(base64_encode(std::string_view("foo")) == "Zm9v");
    CHECK(base64_encode(std::string_view("foob")) == "Zm9vYg==");
    CHECK(base64_encode(std::string_view("fooba")) == "Zm9vYmE=");
    CHECK(base64_encode(std::string_view("foobar")) == "Zm9vYmFy");
    CHECK(base64_encode(std::string_view("\xfb\xff")) == "+/8=");
}

TEST_CASE("lenient base64 decodes standard and URL-safe, padded or not", "[protocol][base64]") {
    CHECK(*base64_decode("Zm9vYg==") == "foob");
    CHECK(*base64_decode("Zm9vYg") == "foob");
    CHECK(*base64_decode("-_8") == "\xfb\xff");
    CHECK(*base64_decode("+/8=") == "\xfb\xff");
    CHECK(base64_decode("Zm9vY").error().code == errc::invalid_base64);
    CHECK(base64_decode("Zm=9").error().code == errc::invalid_base64);
    CHECK(base64_decode("Zm9v\n").error().code == errc::invalid_base64);
    CHECK(base64_decode("Zh==").error().code == errc::invalid_base64);  // non-zero trailing bits
    CHECK(base64_decode(std::string(100, 'A'), 10).error().code == errc::too_large);
}

TEST_CASE("header base64 rejects URL-safe characters and whitespace", "[protocol][base64]") {
    CHECK(*base64_decode_header("+/8=") == "\xfb\xff");
    CHECK(base64_decode_header("-_8=").error().code == errc::invalid_base64);
    CHECK(base64_decode_header("Zm9v Yg==").error().code == errc::invalid_base64);
    CHECK(base64_decode_header("Zm9vYg===").error().code == errc::invalid_base64);
}
