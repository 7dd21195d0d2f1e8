#include "purser/protocol/escrow_calls.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace purser::protocol;

namespace {

channel_config vector_config(const nlohmann::json& j) {
    auto c = channel_config_from_json(j);
    REQUIRE(c);
    return *c;
}

}  // namespace

TEST_CASE("escrow call data matches viem's encoding of the official ABI", "[protocol][escrow]") {
    const auto v = purser::test::load_vectors("eip1559_transactions.json")["escrowCalls"];
    const auto config = vector_config(v["config"]);
    const auto collector = *address::parse(v["collector"].get<std::string>());
    const auto& cd = v["collectorData"];
    escrow::erc3009_collector_data d{*uint256::from_decimal(cd["validAfter"].get<std::string>()),
                                     *uint256::from_decimal(cd["validBefore"].get<std::string>()),
                                     *uint256::from_decimal(cd["salt"].get<std::string>()),
                                     *from_hex(cd["signature"].get<std::string>())};
    const auto encoded_cd = escrow::encode_collector_data(d);
    CHECK(to_hex(encoded_cd) == cd["encoded"].get<std::string>());

    const auto deposit_amount = *uint256::from_decimal(v["deposit"]["amount"].get<std::string>());
    const auto deposit = escrow::encode_deposit(config, deposit_amount, collector, encoded_cd);
    CHECK(to_hex(deposit) == v["deposit"]["data"].get<std::string>());
    const auto withdraw_amount = *uint256::from_decimal(v["initiateWithdraw"]["amount"].get<std::string>());
    CHECK(to_hex(escrow::encode_initiate_withdraw(config, withdraw_amount)) ==
          v["initiateWithdraw"]["data"].get<std::string>());
    CHECK(to_hex(escrow::encode_finalize_withdraw(config)) == v["finalizeWithdraw"]["data"].get<std::string>());

    // And back.
    auto dep = escrow::decode_call(deposit);
    REQUIRE(dep);
    CHECK(dep->kind == escrow::call_kind::deposit);
    CHECK(dep->amount == deposit_amount);
    CHECK(dep->collector == collector);
    CHECK(dep->config.salt == config.salt);
    CHECK(dep->config.withdraw_delay == 900);
    auto back = escrow::decode_collector_data(dep->collector_data);
    REQUIRE(back);
    CHECK(back->valid_before == d.valid_before);
    CHECK(back->salt == d.salt);
    CHECK(back->signature == d.signature);
    auto w = escrow::decode_call(*from_hex(v["initiateWithdraw"]["data"].get<std::string>()));
    REQUIRE(w);
    CHECK(w->kind == escrow::call_kind::initiate_withdraw);
    CHECK(w->amount == withdraw_amount);
    CHECK(w->config.receiver == config.receiver);
    auto f = escrow::decode_call(*from_hex(v["finalizeWithdraw"]["data"].get<std::string>()));
    REQUIRE(f);
    CHECK(f->kind == escrow::call_kind::finalize_withdraw);
}

TEST_CASE("escrow call data that a Solidity decoder would refuse is refused", "[protocol][escrow]") {
    const auto v = purser::test::load_vectors("eip1559_transactions.json")["escrowCalls"];
    const auto good = *from_hex(v["initiateWithdraw"]["data"].get<std::string>());
    auto with = [&](std::size_t at, std::uint8_t value) {
        bytes b = good;
        b[at] = value;
        return b;
    };
    CHECK_FALSE(escrow::decode_call(with(0, 0x00)));           // unknown selector
    CHECK_FALSE(escrow::decode_call(with(4, 0x01)));           // dirty high bytes of payer
    CHECK_FALSE(escrow::decode_call(with(4 + 7 * 32 + 15, 1)));  // amount above uint128
    CHECK_FALSE(escrow::decode_call(with(4 + 5 * 32 + 26, 1)));  // withdrawDelay above uint40
    bytes longer = good;
    longer.push_back(0);
    CHECK_FALSE(escrow::decode_call(longer));
    bytes shorter(good.begin(), good.end() - 1);
    CHECK_FALSE(escrow::decode_call(shorter));
    // A deposit whose bytes offset points elsewhere, or whose padding is dirty.
    const auto dep = *from_hex(v["deposit"]["data"].get<std::string>());
    bytes moved = dep;
    moved[4 + 9 * 32 + 31] = 0x60;
    CHECK_FALSE(escrow::decode_call(moved));
    // The collector's data ends on a whole word, so its own padding is the inner signature's.
    bytes dirty = dep;
    dirty.back() = 1;
    auto outer = escrow::decode_call(dirty);
    REQUIRE(outer);
    CHECK_FALSE(escrow::decode_collector_data(outer->collector_data));
    bytes cut = dep;
    cut.resize(cut.size() - 32);
    CHECK_FALSE(escrow::decode_call(cut));
}
