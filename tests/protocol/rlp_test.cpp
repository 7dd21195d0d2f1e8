#include "purser/protocol/rlp.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

namespace {
std::string hex_of(const bytes& b) { return to_hex(b, false); }
bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }
bytes unhex(std::string_view h) { return *from_hex(h); }
}  // namespace

// The examples of the RLP specification (ethereum.org, "Recursive-length prefix").
TEST_CASE("RLP encodes the specification's examples", "[protocol][rlp]") {
    CHECK(hex_of(rlp::encode_string(text("dog"))) == "83646f67");
    CHECK(hex_of(rlp::encode_list({rlp::encode_string(text("cat")), rlp::encode_string(text("dog"))})) ==
          "c88363617483646f67");
    CHECK(hex_of(rlp::encode_string({})) == "80");
    CHECK(hex_of(rlp::encode_list({})) == "c0");
    CHECK(hex_of(rlp::encode_uint(uint256{0})) == "80");
    CHECK(hex_of(rlp::encode_string(unhex("00"))) == "00");
    CHECK(hex_of(rlp::encode_string(unhex("0f"))) == "0f");
    CHECK(hex_of(rlp::encode_uint(uint256{15})) == "0f");
    CHECK(hex_of(rlp::encode_uint(uint256{1024})) == "820400");
    // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
    const auto empty = rlp::encode_list({});
    const auto one = rlp::encode_list({empty});
    CHECK(hex_of(rlp::encode_list({empty, one, rlp::encode_list({empty, one})})) == "c7c0c1c0c3c0c1c0");
    const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    CHECK(hex_of(rlp::encode_string(text(lorem))) == "b838" + to_hex(text(lorem), false));
}

TEST_CASE("RLP decodes what it encodes", "[protocol][rlp]") {
    const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    const auto encoded = rlp::encode_list({rlp::encode_string(text(lorem)), rlp::encode_uint(uint256{1024}),
                                           rlp::encode_list({rlp::encode_string(unhex("7f"))})});
    auto it = rlp::decode(encoded);
    REQUIRE(it);
    REQUIRE(it->is_list);
    REQUIRE(it->items.size() == 3);
    CHECK(it->items[0].data == text(lorem));
    CHECK(*rlp::to_uint(it->items[1]) == uint256{1024});
    REQUIRE(it->items[2].items.size() == 1);
    CHECK(it->items[2].items[0].data == unhex("7f"));
}

TEST_CASE("RLP refuses every non-canonical or truncated form", "[protocol][rlp]") {
    for (const char* h : {
             "",          // nothing
             "8100",      // a single byte below 0x80 with a prefix
             "817f",      // the same
             "b80141",    // long form for a one-byte length
             "b90038" ,   // a length with a leading zero
             "83646f",    // truncated string
             "c883636174",  // truncated list
             "83646f6700",  // trailing byte
             "c3836361",  // list content shorter than an item inside it
             "bf0102030405060708",  // an 8-byte length far beyond the input
         }) {
        INFO(h);
        CHECK_FALSE(rlp::decode(unhex(h)));
    }
    // Integers: no leading zero byte, at most 32 bytes.
    CHECK_FALSE(rlp::to_uint(*rlp::decode(unhex("820001"))));
    bytes big(33, 1);
    CHECK(rlp::to_uint(*rlp::decode(rlp::encode_string(big))).error().code == make_error_code(errc::overflow));
}

TEST_CASE("RLP bounds how deep lists nest", "[protocol][rlp]") {
    bytes nested = rlp::encode_list({});
    for (int i = 0; i < rlp::max_depth; ++i) nested = rlp::encode_list({nested});
    CHECK_FALSE(rlp::decode(nested));
    bytes ok = rlp::encode_list({});
    for (int i = 0; i < rlp::max_depth - 1; ++i) ok = rlp::encode_list({ok});
    CHECK(rlp::decode(ok));
}
