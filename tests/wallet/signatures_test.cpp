#include "purser/wallet/batch.hpp"

#include <catch2/catch.hpp>

#include <functional>

#include "purser/protocol/eip712.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/wallet/errc.hpp"
#include "purser/wallet/signer.hpp"
#include "test_support.hpp"

using namespace purser;
using namespace purser::wallet;
using nlohmann::json;

namespace {

local_signer signer_for(const json& hex) { return local_signer(*private_key::from_hex(hex.get<std::string>())); }

protocol::uint256 dec(const json& j) { return *protocol::uint256::from_decimal(j.get<std::string>()); }

/// A v2 batch-settlement offer as a server would send it, built from a vector's channel config.
protocol::payment_requirements batch_offer(const json& c, const std::string& network) {
    const auto& cfg = c["channel_config"];
    json req = {{"x402Version", 2},
                {"resource", {{"url", "https://api.example.com/stream"}}},
                {"accepts",
                 {{{"scheme", "batch-settlement"},
                   {"network", network},
                   {"amount", "1000"},
                   {"asset", cfg["token"]},
                   {"payTo", cfg["receiver"]},
                   {"maxTimeoutSeconds", 3600},
                   {"extra",
                    {{"receiverAuthorizer", cfg["receiverAuthorizer"]},
                     {"withdrawDelay", cfg["withdrawDelay"]},
                     {"name", "USDC"},
                     {"version", "2"}}}}}}};
    auto parsed = protocol::parse_payment_required(req.dump());
    REQUIRE(parsed);
    return parsed->accepts.at(0);
}

}  // namespace

TEST_CASE("eip3009.json: every signature byte for byte", "[wallet][vectors]") {
    auto v = test::load_vectors("eip3009.json");
    REQUIRE(v["cases"].size() == 8);
    for (const auto& c : v["cases"]) {
        INFO(c["label"].get<std::string>() << " value " << c["message"]["value"].get<std::string>());
        auto s = signer_for(c["private_key"]);
        CHECK(s.address().to_checksum() == c["message"]["from"]);
        protocol::eip712::typed_data td;
        td.types[c["primaryType"].get<std::string>()] = {
            {"from", "address"},      {"to", "address"},          {"value", "uint256"},
            {"validAfter", "uint256"}, {"validBefore", "uint256"}, {"nonce", "bytes32"}};
        td.primary_type = c["primaryType"];
        td.domain = c["domain"];
        td.message = c["message"];
        auto digest = protocol::eip712::hash_typed_data(td);
        REQUIRE(digest);
        CHECK(protocol::to_hex(*digest) == c["digest"]);
        auto sig = sign_typed_data(s, td);
        REQUIRE(sig);
        CHECK(sig->to_hex() == c["signature"]);
        auto parsed = signature::from_hex(c["signature"].get<std::string>());
        REQUIRE(parsed);
        CHECK(*recover_address(*digest, *parsed) == s.address());
    }
}

TEST_CASE("batch_settlement.json: channel ids, vouchers and refunds byte for byte", "[wallet][vectors]") {
    auto v = test::load_vectors("batch_settlement.json");
    REQUIRE(v["cases"].size() == 2);
    const auto registry = protocol::network_registry::builtin();
    for (const auto& c : v["cases"]) {
        const auto chain = c["chainId"].get<std::uint64_t>();
        INFO("chain " << chain);
        auto payer = signer_for(c["payer_private_key"]);
        CHECK(payer.address().to_checksum() == c["channel_config"]["payer"]);

        // The channel our offer reading produces is the vector's channel.
        auto offer = batch_offer(c, "eip155:" + std::to_string(chain));
        auto ch = make_batch_channel(payer.address(), offer, registry);
        REQUIRE(ch);
        CHECK(ch->chain_id == chain);
        CHECK(protocol::to_hex(ch->id) == c["channel_id"]);
        auto from_vector = protocol::channel_config_from_json(c["channel_config"]);
        REQUIRE(from_vector);
        CHECK(protocol::to_hex(protocol::channel_id(chain, *from_vector)) == c["channel_id"]);

        for (const auto& vc : c["vouchers"]) {
            INFO("voucher " << vc["maxClaimableAmount"].get<std::string>());
            auto signed_v = sign_voucher(payer, chain, ch->id, dec(vc["maxClaimableAmount"]));
            REQUIRE(signed_v);
            CHECK(signed_v->sig.to_hex() == vc["signature"]);
            auto digest = protocol::eip712::hash_typed_data(
                protocol::voucher_typed_data(chain, ch->id, dec(vc["maxClaimableAmount"])));
            CHECK(protocol::to_hex(*digest) == vc["digest"]);
            CHECK(*recover_address(*digest, signed_v->sig) == payer.address());
        }

        const auto& r = c["refund"];
        auto authorizer = signer_for(r["receiver_authorizer_private_key"]);
        CHECK(authorizer.address().to_checksum() == c["channel_config"]["receiverAuthorizer"]);
        auto refund = sign_refund(authorizer, chain, ch->id, dec(r["nonce"]), dec(r["amount"]));
        REQUIRE(refund);
        CHECK(refund->to_hex() == r["signature_by_receiver_authorizer"]);
    }
}

TEST_CASE("batch: amounts above uint128 are refused, nothing signed", "[wallet][batch]") {
    auto v = test::load_vectors("batch_settlement.json");
    auto payer = signer_for(v["cases"][0]["payer_private_key"]);
    protocol::bytes32 id{};
    auto too_big = *protocol::uint256::from_decimal("340282366920938463463374607431768211456");
    auto sv = sign_voucher(payer, 84532, id, too_big);
    REQUIRE_FALSE(sv);
    CHECK(sv.error().code == errc::unsupported_offer);
    auto rf = sign_refund(payer, 84532, id, protocol::uint256(1), too_big);
    REQUIRE_FALSE(rf);
    CHECK(rf.error().code == errc::unsupported_offer);
}

TEST_CASE("batch: offers with bad extra fields are refused", "[wallet][batch]") {
    auto v = test::load_vectors("batch_settlement.json");
    const auto& c = v["cases"][0];
    auto payer = signer_for(c["payer_private_key"]);
    const auto registry = protocol::network_registry::builtin();
    auto expect_refused = [&](const std::function<void(json&)>& mutate, const std::string& needle) {
        auto offer = batch_offer(c, "eip155:84532");
        json extra = json::parse(offer.extra.dump());
        mutate(extra);
        offer.extra = protocol::ojson::parse(extra.dump());
        auto ch = make_batch_channel(payer.address(), offer, registry);
        REQUIRE_FALSE(ch);
        CHECK(ch.error().code == errc::unsupported_offer);
        CHECK(ch.error().detail.find(needle) != std::string::npos);
    };
    expect_refused([](json& e) { e.erase("receiverAuthorizer"); }, "receiverAuthorizer");
    expect_refused([](json& e) { e["receiverAuthorizer"] = "0x0000000000000000000000000000000000000000"; },
                   "receiverAuthorizer");
    expect_refused([](json& e) { e["withdrawDelay"] = 899; }, "withdrawDelay");
    expect_refused([](json& e) { e["withdrawDelay"] = 2592001; }, "withdrawDelay");
    expect_refused([](json& e) { e["withdrawDelay"] = "soon"; }, "withdrawDelay");
    // withdrawDelay as a decimal string is accepted.
    auto offer = batch_offer(c, "eip155:84532");
    offer.extra["withdrawDelay"] = "1800";
    auto ch = make_batch_channel(payer.address(), offer, registry);
    REQUIRE(ch);
    CHECK(ch->config.withdraw_delay == 1800);
    offer.scheme = "exact";
    CHECK_FALSE(make_batch_channel(payer.address(), offer, registry));
}

TEST_CASE("batch: deposit authorization and payload shapes", "[wallet][batch]") {
    auto v = test::load_vectors("batch_settlement.json");
    const auto& c = v["cases"][0];
    auto payer = signer_for(c["payer_private_key"]);
    const auto registry = protocol::network_registry::builtin();
    auto ch = *make_batch_channel(payer.address(), batch_offer(c, "eip155:84532"), registry);
    CHECK(ch.token_domain.name == "USDC");

    deposit_options opts;
    opts.valid_before = 1740675600;
    protocol::bytes32 salt{};
    salt[31] = 1;
    opts.salt = salt;
    auto dep = sign_deposit(payer, ch, protocol::uint256(5000), opts);
    REQUIRE(dep);
    CHECK(dep->authorization.to == protocol::erc3009_deposit_collector());
    CHECK(dep->authorization.nonce == protocol::deposit_nonce(ch.id, protocol::uint256(1)));
    auto digest = protocol::eip712::hash_typed_data(protocol::authorization_typed_data(
        ch.token_domain, dep->authorization, protocol::authorization_kind::receive));
    CHECK(*recover_address(*digest, dep->sig) == payer.address());

    auto voucher = *sign_voucher(payer, ch.chain_id, ch.id, protocol::uint256(1000));
    auto vp = voucher_payload(ch, voucher);
    json expected_voucher = {{"type", "voucher"},
                             {"channelConfig", c["channel_config"]},
                             {"voucher",
                              {{"channelId", c["channel_id"]},
                               {"maxClaimableAmount", "1000"},
                               {"signature", c["vouchers"][0]["signature"]}}}};
    CHECK(json::parse(vp.dump()) == expected_voucher);
    // Key order as the official client emits it.
    const std::string text = vp.dump();
    CHECK(text.rfind(R"({"type":"voucher","channelConfig":{"payer":)", 0) == 0);
    CHECK(text.find(R"("token":)") < text.find(R"("withdrawDelay":)"));
    CHECK(text.find(R"("withdrawDelay":900,"salt":)") != std::string::npos);
    auto dp = deposit_payload(ch, voucher, *dep);
    CHECK(dp["type"] == "deposit");
    CHECK(dp["deposit"]["amount"] == "5000");
    const auto& e = dp["deposit"]["authorization"]["erc3009Authorization"];
    CHECK(e["validAfter"] == "0");
    CHECK(e["validBefore"] == "1740675600");
    CHECK(e["salt"] == protocol::to_hex(salt));
    CHECK(e["signature"] == dep->sig.to_hex());

    // Refusals: zero amount, no validBefore, a signer that is not the payer.
    CHECK_FALSE(sign_deposit(payer, ch, protocol::uint256(0), opts));
    deposit_options no_time;
    CHECK_FALSE(sign_deposit(payer, ch, protocol::uint256(1), no_time));
    auto other = signer_for(c["refund"]["receiver_authorizer_private_key"]);
    auto wrong = sign_deposit(other, ch, protocol::uint256(1), opts);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == errc::unsupported_offer);
}
