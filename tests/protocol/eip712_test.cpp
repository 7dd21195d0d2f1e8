#include "purser/protocol/eip712.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"
#include "purser/protocol/keccak.hpp"
#include "purser/protocol/x402_types.hpp"
#include "test_support.hpp"

using namespace purser::protocol;
using nlohmann::json;

namespace {

transfer_authorization auth_from(const json& m) {
    transfer_authorization a;
    a.from = *address::parse(m["from"].get<std::string>());
    a.to = *address::parse(m["to"].get<std::string>());
    a.value = *uint256::from_decimal(m["value"].get<std::string>());
    a.valid_after = *uint256::from_decimal(m["validAfter"].get<std::string>());
    a.valid_before = *uint256::from_decimal(m["validBefore"].get<std::string>());
    a.nonce = *bytes32_from_hex(m["nonce"].get<std::string>());
    return a;
}

eip712_domain domain_from(const json& d) {
    return {d["name"], d["version"], d["chainId"].get<std::uint64_t>(),
            *address::parse(d["verifyingContract"].get<std::string>())};
}

}  // namespace

TEST_CASE("EIP-3009 vectors: domain separator, struct hash and digest", "[protocol][eip712]") {
    auto v = purser::test::load_vectors("eip3009.json");
    REQUIRE(v["cases"].size() == 8);
    for (const auto& c : v["cases"]) {
        INFO(c["label"].get<std::string>() << " " << c["message"]["value"].get<std::string>());
        auto kind = c["primaryType"] == "TransferWithAuthorization" ? authorization_kind::transfer
                                                                    : authorization_kind::receive;
        auto td = authorization_typed_data(domain_from(c["domain"]), auth_from(c["message"]), kind);
        CHECK(*eip712::encode_type(td.types, td.primary_type) ==
              v["type_strings"][td.primary_type].get<std::string>());
        CHECK(to_hex(*eip712::domain_separator(td.domain)) == c["domain_separator"]);
        CHECK(to_hex(*eip712::hash_struct(td.types, td.primary_type, td.message)) == c["struct_hash"]);
        CHECK(to_hex(*eip712::hash_typed_data(td)) == c["digest"]);
        // The raw vector JSON hashes the same as the typed builder.
        eip712::typed_data raw{td.types, td.primary_type, c["domain"], c["message"]};
        CHECK(to_hex(*eip712::hash_typed_data(raw)) == c["digest"]);
        // And so does the direct digest that signing and verifying use.
        CHECK(to_hex(authorization_digest(domain_from(c["domain"]), auth_from(c["message"]), kind)) == c["digest"]);
    }
}

TEST_CASE("authorization_digest equals the generic EIP-712 hash for any fields", "[protocol][eip712]") {
    // Extremes of every field the vectors may not reach: zero, the largest uint256, a long
    // name, a chain id past 32 bits, both kinds.
    const uint256 max = *uint256::from_decimal(
        "115792089237316195423570985008687907853269984665640564039457584007913129639935");
    const address a = *address::parse("0x000000000000000000000000000000000000dEaD");
    const address b = *address::parse("0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF");
    bytes32 nonce{};
    nonce.fill(0xab);
    const std::vector<eip712_domain> domains{{"USDC", "2", 84532, b},
                                             {"", "", 0, a},
                                             {std::string(200, 'n'), "1.0.0-beta", 0x1'0000'0001ULL, a}};
    const std::vector<transfer_authorization> auths{{a, b, uint256{0}, uint256{0}, max, nonce},
                                                    {b, a, max, max, uint256{1}, bytes32{}}};
    for (const auto& d : domains) {
        for (const auto& t : auths) {
            for (auto kind : {authorization_kind::transfer, authorization_kind::receive}) {
                CHECK(authorization_digest(d, t, kind) ==
                      *eip712::hash_typed_data(authorization_typed_data(d, t, kind)));
            }
        }
    }
}

TEST_CASE("TransferWithAuthorization typehash matches x402.md", "[protocol][eip712]") {
    auto td = authorization_typed_data({}, {}, authorization_kind::transfer);
    CHECK(to_hex(*eip712::type_hash(td.types, td.primary_type)) ==
          "0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267");
}

TEST_CASE("batch-settlement vectors: channel ids, vouchers, refunds", "[protocol][eip712]") {
    auto v = purser::test::load_vectors("batch_settlement.json");
    CHECK(batch_settlement_contract().to_checksum() == v["contracts"]["x402BatchSettlement"]);
    CHECK(erc3009_deposit_collector().to_checksum() == v["contracts"]["erc3009DepositCollector"]);
    for (const auto& c : v["cases"]) {
        std::uint64_t chain = c["chainId"];
        INFO("chain " << chain);
        auto cfg = channel_config_from_json(c["channel_config"]);
        REQUIRE(cfg);
        auto ctd = channel_config_typed_data(chain, *cfg);
        CHECK(*eip712::encode_type(ctd.types, "ChannelConfig") == v["type_strings"]["ChannelConfig"]);
        CHECK(to_json(batch_settlement_domain(chain)) == c["domain"]);
        auto id = channel_id(chain, *cfg);
        CHECK(to_hex(id) == c["channel_id"]);
        for (const auto& vo : c["vouchers"]) {
            auto td = voucher_typed_data(chain, id, *uint256::from_decimal(vo["maxClaimableAmount"].get<std::string>()));
            CHECK(*eip712::encode_type(td.types, "Voucher") == v["type_strings"]["Voucher"]);
            CHECK(to_hex(*eip712::hash_typed_data(td)) == vo["digest"]);
        }
        const auto& r = c["refund"];
        auto rtd = refund_typed_data(chain, id, *uint256::from_decimal(r["nonce"].get<std::string>()),
                                     *uint256::from_decimal(r["amount"].get<std::string>()));
        CHECK(*eip712::encode_type(rtd.types, "Refund") == v["type_strings"]["Refund"]);
        CHECK(to_hex(*eip712::hash_typed_data(rtd)) == r["digest"]);
    }
}

TEST_CASE("EIP-712 handles nested structs and arrays (the EIP's Mail example)", "[protocol][eip712]") {
    // The example from the EIP-712 specification, with its published hashes.
    eip712::type_map types;
    types["Person"] = {{"name", "string"}, {"wallet", "address"}};
    types["Mail"] = {{"from", "Person"}, {"to", "Person"}, {"contents", "string"}};
    json domain = {{"name", "Ether Mail"}, {"version", "1"}, {"chainId", 1},
                   {"verifyingContract", "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"}};
    json message = {{"from", {{"name", "Cow"}, {"wallet", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"}}},
                    {"to", {{"name", "Bob"}, {"wallet", "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"}}},
                    {"contents", "Hello, Bob!"}};
    CHECK(*eip712::encode_type(types, "Mail") ==
          "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
    CHECK(to_hex(*eip712::domain_separator(domain)) ==
          "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
    CHECK(to_hex(*eip712::hash_struct(types, "Mail", message)) ==
          "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
    CHECK(to_hex(*eip712::hash_typed_data({types, "Mail", domain, message})) ==
          "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

    // Arrays: the hash of T[] is keccak of the concatenated element encodings.
    types["Group"] = {{"members", "Person[]"}, {"ids", "uint8[2]"}};
    json group = {{"members", json::array({message["from"], message["to"]})}, {"ids", {1, 2}}};
    auto h = eip712::hash_struct(types, "Group", group);
    REQUIRE(h);
    auto th = *eip712::type_hash(types, "Group");
    bytes members;
    for (const auto& p : group["members"]) {
        auto ph = *eip712::hash_struct(types, "Person", p);
        members.insert(members.end(), ph.begin(), ph.end());
    }
    bytes ids(64, 0);
    ids[31] = 1;
    ids[63] = 2;
    bytes buf(th.begin(), th.end());
    auto mh = keccak256(members);
    auto ih = keccak256(ids);
    buf.insert(buf.end(), mh.begin(), mh.end());
    buf.insert(buf.end(), ih.begin(), ih.end());
    CHECK(*h == keccak256(buf));
    CHECK(*eip712::encode_type(types, "Group") ==
          "Group(Person[] members,uint8[2] ids)Person(string name,address wallet)");
    group["ids"] = {1, 2, 3};
    CHECK(eip712::hash_struct(types, "Group", group).error().code == errc::invalid_value);
}

TEST_CASE("EIP-712 rejects values that do not fit their types", "[protocol][eip712]") {
    eip712::type_map types;
    types["T"] = {{"a", "uint8"}, {"b", "int8"}, {"c", "bytes4"}, {"d", "bool"}};
    json ok = {{"a", 255}, {"b", -128}, {"c", "0x01020304"}, {"d", true}};
    CHECK(eip712::hash_struct(types, "T", ok));
    auto with = [&](const char* k, json v) { json j = ok; j[k] = v; return eip712::hash_struct(types, "T", j); };
    CHECK(with("a", 256).error().code == errc::overflow);
    CHECK(with("a", -1).error().code == errc::invalid_value);
    CHECK(with("b", 128).error().code == errc::overflow);
    CHECK(with("b", -129).error().code == errc::overflow);
    CHECK(with("b", "-128"));
    CHECK(with("c", "0x010203").error().code == errc::invalid_value);
    CHECK(with("d", 1).error().code == errc::wrong_type);
    CHECK(with("a", "1.5").error().code == errc::invalid_decimal);
    json missing = ok;
    missing.erase("a");
    CHECK(eip712::hash_struct(types, "T", missing).error().code == errc::missing_field);
    CHECK(eip712::encode_type(types, "Nope").error().code == errc::invalid_typed_data);
    CHECK(eip712::domain_separator(json{{"name", "x"}, {"colour", "red"}}).error().code ==
          errc::invalid_typed_data);
    // int8 -1 encodes as 32 bytes of 0xff.
    eip712::type_map neg;
    neg["N"] = {{"v", "int8"}};
    auto th = *eip712::type_hash(neg, "N");
    bytes buf(th.begin(), th.end());
    buf.insert(buf.end(), 32, 0xff);
    CHECK(*eip712::hash_struct(neg, "N", json{{"v", -1}}) == keccak256(buf));
}
