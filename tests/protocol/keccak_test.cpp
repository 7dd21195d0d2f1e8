#include "purser/protocol/keccak.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace purser::protocol;

TEST_CASE("keccak256 reproduces every published vector", "[protocol][keccak]") {
    auto v = purser::test::load_vectors("keccak256.json");
    REQUIRE(v["cases"].size() >= 7);
    for (const auto& c : v["cases"]) {
        std::string input = c["input_utf8"];
        INFO("input length " << input.size());
        REQUIRE(input.size() == c["input_len"].get<std::size_t>());
        CHECK(to_hex(keccak256(std::string_view(input))) == c["keccak256"].get<std::string>());
    }
}

TEST_CASE("keccak256 is not NIST SHA3-256", "[protocol][keccak]") {
    // SHA3-256("") begins a7ffc6f8; Ethereum's Keccak-256("") begins c5d24601.
    CHECK(to_hex(keccak256(std::string_view(""))).substr(0, 10) == "0xc5d24601");
}
