#include "purser/protocol/address.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"
#include "test_support.hpp"

using namespace purser::protocol;

TEST_CASE("addresses re-checksum to the vectors' EIP-55 form", "[protocol][address]") {
    auto v = purser::test::load_vectors("addresses.json");
    for (const auto& c : v["cases"]) {
        std::string want = c["address"];
        std::string lower = want;
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        lower[1] = 'x';
        auto a = address::parse(lower);
        REQUIRE(a);
        CHECK(a->to_checksum() == want);
        CHECK(address::parse(want)->to_lower() == lower);
    }
}

TEST_CASE("a mixed-case address with a wrong checksum is rejected", "[protocol][address]") {
    CHECK(address::parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
    CHECK(address::parse("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266").error().code ==
          errc::invalid_address);
    CHECK(address::parse("0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266"));  // all upper is fine
    CHECK(address::parse("f39fd6e51aad88f6f4ce6ab8827279cfffb92266").error().code ==
          errc::invalid_address);
    CHECK(address::parse("0x1234").error().code == errc::invalid_address);
    CHECK(address::parse("0xg39fd6e51aad88f6f4ce6ab8827279cfffb92266").error().code ==
          errc::invalid_address);
    CHECK(address::parse("0x0000000000000000000000000000000000000000")->is_zero());
}
