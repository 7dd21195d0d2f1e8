#include "purser/wallet/transaction.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/rlp.hpp"
#include "test_support.hpp"

using namespace purser;
using protocol::uint256;

namespace {

wallet::local_signer hardhat0() {
    auto key = wallet::private_key::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    REQUIRE(key);
    return wallet::local_signer(std::move(*key));
}

wallet::eip1559_transaction from_vector(const nlohmann::json& c) {
    wallet::eip1559_transaction tx;
    tx.chain_id = c["chainId"].get<std::uint64_t>();
    tx.nonce = c["nonce"].get<std::uint64_t>();
    tx.max_priority_fee_per_gas = *uint256::from_decimal(c["maxPriorityFeePerGas"].get<std::string>());
    tx.max_fee_per_gas = *uint256::from_decimal(c["maxFeePerGas"].get<std::string>());
    tx.gas = std::stoull(c["gas"].get<std::string>());
    tx.to = *protocol::address::parse(c["to"].get<std::string>());
    tx.value = *uint256::from_decimal(c["value"].get<std::string>());
    tx.data = *protocol::from_hex(c["data"].get<std::string>());
    return tx;
}

}  // namespace

TEST_CASE("signed EIP-1559 transactions match viem byte for byte", "[wallet][transaction]") {
    const auto v = purser::test::load_vectors("eip1559_transactions.json");
    auto signer = hardhat0();
    REQUIRE(signer.address().to_checksum() == v["sender"].get<std::string>());
    REQUIRE(v["transactions"].size() >= 4);
    for (const auto& c : v["transactions"]) {
        INFO("nonce " << c["nonce"]);
        const auto tx = from_vector(c);
        auto s = wallet::sign_transaction(signer, tx);
        REQUIRE(s);
        CHECK(protocol::to_hex(s->raw) == c["raw"].get<std::string>());
        CHECK(protocol::to_hex(s->hash) == c["hash"].get<std::string>());

        auto read = wallet::read_transaction(*protocol::from_hex(c["raw"].get<std::string>()));
        REQUIRE(read);
        CHECK(read->sender == signer.address());
        CHECK(read->tx.nonce == tx.nonce);
        CHECK(read->tx.chain_id == tx.chain_id);
        CHECK(read->tx.max_fee_per_gas == tx.max_fee_per_gas);
        CHECK(read->tx.to == tx.to);
        CHECK(read->tx.data == tx.data);
        CHECK(read->tx.value == tx.value);
        CHECK(protocol::to_hex(read->hash) == c["hash"].get<std::string>());
    }
}

TEST_CASE("a raw transaction that is not a well-formed signed type 2 is refused", "[wallet][transaction]") {
    const auto v = purser::test::load_vectors("eip1559_transactions.json");
    const auto raw = *protocol::from_hex(v["transactions"][1]["raw"].get<std::string>());
    CHECK(wallet::read_transaction(raw));

    auto legacy = raw;
    legacy[0] = 0x01;
    CHECK_FALSE(wallet::read_transaction(legacy));
    CHECK_FALSE(wallet::read_transaction(protocol::byte_view(raw.data(), raw.size() - 1)));
    CHECK_FALSE(wallet::read_transaction({}));

    // Re-encode with one field changed: a tampered field recovers another sender, never ours.
    auto outer = protocol::rlp::decode(protocol::byte_view(raw.data() + 1, raw.size() - 1));
    REQUIRE(outer);
    auto reencode = [&](std::size_t field, const protocol::bytes& encoded) {
        std::vector<protocol::bytes> items;
        for (std::size_t i = 0; i < outer->items.size(); ++i) {
            const auto& it = outer->items[i];
            if (i == field) items.push_back(encoded);
            else if (it.is_list) items.push_back(protocol::rlp::encode_list({}));
            else items.push_back(protocol::rlp::encode_string(it.data));
        }
        protocol::bytes out{0x02};
        auto body = protocol::rlp::encode_list(items);
        out.insert(out.end(), body.begin(), body.end());
        return out;
    };
    auto signer = hardhat0();
    auto tampered = wallet::read_transaction(reencode(1, protocol::rlp::encode_uint(uint256{8})));
    if (tampered) CHECK(tampered->sender != signer.address());
    CHECK_FALSE(wallet::read_transaction(reencode(9, protocol::rlp::encode_uint(uint256{2}))));  // yParity
    CHECK_FALSE(wallet::read_transaction(reencode(5, protocol::rlp::encode_string({}))));         // no 'to'
    CHECK_FALSE(wallet::read_transaction(
        reencode(8, protocol::rlp::encode_list({protocol::rlp::encode_list({})}))));  // access list
}
