#include "purser/wallet/exact.hpp"

#include <catch2/catch.hpp>

#include <functional>

#include "purser/protocol/errc.hpp"
#include "purser/wallet/errc.hpp"
#include "test_support.hpp"

using namespace purser;
using namespace purser::wallet;

namespace {

/// The vectors in file order: the echoed offer and resource must keep the server's key order,
/// which nlohmann::json (sorted keys) would lose.
protocol::ojson ordered_vectors() {
    return protocol::ojson::parse(test::read_file(std::string(PURSER_VECTORS_DIR) + "/official_client.json"));
}

/// The nonce the vector's patched getRandomValues produced: byte i = (i + 1 + k) & 0xff.
protocol::bytes32 rule_nonce(int k) {
    protocol::bytes32 n{};
    for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>((i + 1 + static_cast<std::size_t>(k)) & 0xff);
    return n;
}

int rule_k(const protocol::ojson& c) { return c["random_bytes_rule"].get<std::string>().find("+ 1 + 1") != std::string::npos ? 1 : 0; }

template <class J>
protocol::payment_required required_of(const J& c) {
    auto r = protocol::parse_payment_required(c["payment_required"].dump());
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("official_client.json: sign_exact reproduces the official headers", "[wallet][exact][vectors]") {
    auto v = ordered_vectors();
    REQUIRE(v["cases"].size() == 2);
    for (const auto& c : v["cases"]) {
        INFO(c["label"].get<std::string>());
        local_signer s(*private_key::from_hex(c["private_key"].get<std::string>()));
        auto required = required_of(c);
        exact_options o;
        o.now = c["now_unix"].get<std::uint64_t>();
        o.nonce = rule_nonce(rule_k(c));
        auto paid = sign_exact(s, required, required.accepts.at(0), o);
        REQUIRE(paid);
        const auto& headers = c["headers"];
        REQUIRE(headers.size() == 1);
        CHECK(paid->header_name == headers.begin().key());
        CHECK(paid->header_value == headers.begin().value());
        CHECK(protocol::serialize(paid->payload) == protocol::base64_decode(headers.begin().value().get<std::string>()).value());
        // Ledger facts.
        const auto& auth = c["payment_payload"]["payload"]["authorization"];
        CHECK(paid->nonce_hex == auth["nonce"]);
        CHECK(std::to_string(paid->valid_before) == auth["validBefore"]);
        CHECK(std::to_string(paid->valid_after) == auth["validAfter"]);
        CHECK(paid->amount.to_decimal() == "10000");
        CHECK(paid->pay_to.to_checksum() == auth["to"]);
        CHECK(paid->from.to_checksum() == auth["from"]);
        CHECK(paid->asset.to_checksum() == "0x036CbD53842c5426634e7929541eC2318f3dCF7e");
        CHECK(paid->chain_id == 84532);
        CHECK(paid->sig.to_hex() == c["payment_payload"]["payload"]["signature"]);

        // And a verifier recovers the signer from the header alone (v2) or with the offer (v1).
        auto decoded = protocol::decode_payment_header(paid->header_value);
        REQUIRE(decoded);
        const auto registry = protocol::network_registry::builtin();
        const protocol::payment_requirements* offer = decoded->x402_version == 1 ? &required.accepts[0] : nullptr;
        auto check = check_exact_payload(*decoded, offer, registry);
        REQUIRE(check);
        CHECK(check->signer_matches);
        CHECK(check->recovered == s.address());
        CHECK(check->digest == paid->digest);
    }
}

TEST_CASE("x402.md §8: the v2 digest of the official vector", "[wallet][exact][vectors]") {
    auto v = ordered_vectors();
    const auto& c = v["cases"][0];
    local_signer s(*private_key::from_hex(c["private_key"].get<std::string>()));
    auto required = required_of(c);
    exact_options o;
    o.now = 1740672000;
    o.nonce = rule_nonce(0);
    auto paid = sign_exact(s, required, required.accepts.at(0), o);
    REQUIRE(paid);
    CHECK(protocol::to_hex(paid->digest) == "0x0b1d2bae3e8c64606a78ee1267e66556b8b60f68c392bcfd8c9780110f65e001");
}

TEST_CASE("exact: validBefore is capped by max_window and explicit values win", "[wallet][exact]") {
    auto v = ordered_vectors();
    protocol::ojson c = v["cases"][0];
    c["payment_required"]["accepts"][0]["maxTimeoutSeconds"] = 86400;  // a greedy merchant
    local_signer s(*private_key::generate());
    auto required = required_of(c);
    exact_options o;
    o.now = 1000000;
    auto capped = sign_exact(s, required, required.accepts[0], o);
    REQUIRE(capped);
    CHECK(capped->valid_before == 1000000 + 300);
    CHECK(capped->valid_after == 0);
    o.max_window_seconds = 30;
    CHECK(sign_exact(s, required, required.accepts[0], o)->valid_before == 1000030);
    o.valid_before = 1234567;
    o.valid_after = 5;
    auto explicit_times = sign_exact(s, required, required.accepts[0], o);
    REQUIRE(explicit_times);
    CHECK(explicit_times->valid_before == 1234567);
    CHECK(explicit_times->valid_after == 5);
    // Random nonces differ between calls.
    exact_options fresh;
    auto a = sign_exact(s, required, required.accepts[0], fresh);
    auto b = sign_exact(s, required, required.accepts[0], fresh);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->nonce_hex != b->nonce_hex);
    o.valid_before = 4;  // before validAfter
    auto bad = sign_exact(s, required, required.accepts[0], o);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == errc::unsupported_offer);
}

TEST_CASE("exact: offers it cannot sign are refused", "[wallet][exact]") {
    auto v = ordered_vectors();
    local_signer s(*private_key::generate());
    auto refuse = [&](const std::function<void(protocol::ojson&)>& mutate, const std::string& needle) {
        protocol::ojson c = v["cases"][0];
        mutate(c["payment_required"]["accepts"][0]);
        auto required = protocol::parse_payment_required(c["payment_required"].dump());
        REQUIRE(required);
        auto r = sign_exact(s, *required, required->accepts.at(0));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unsupported_offer);
        CHECK(r.error().detail.find(needle) != std::string::npos);
    };
    refuse([](protocol::ojson& a) { a["scheme"] = "upto"; }, "scheme");
    refuse([](protocol::ojson& a) { a["extra"].erase("name"); }, "extra.name");
    refuse([](protocol::ojson& a) { a["extra"].erase("version"); }, "extra.version");
    refuse([](protocol::ojson& a) { a.erase("extra"); }, "extra");
    refuse([](protocol::ojson& a) { a["extra"]["assetTransferMethod"] = "permit2"; }, "eip3009");
    refuse([](protocol::ojson& a) { a["network"] = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"; }, "network");
}

TEST_CASE("exact: domain comes from the offer, not a table", "[wallet][exact]") {
    auto v = ordered_vectors();
    protocol::ojson c = v["cases"][0];
    // An unknown chain with a made-up token name still signs, with exactly that domain.
    c["payment_required"]["accepts"][0]["network"] = "eip155:424242";
    c["payment_required"]["accepts"][0]["extra"]["name"] = "Some Token";
    auto required = required_of(c);
    local_signer s(*private_key::generate());
    auto paid = sign_exact(s, required, required.accepts[0]);
    REQUIRE(paid);
    CHECK(paid->chain_id == 424242);
    auto check = check_exact_payload(paid->payload, nullptr, protocol::network_registry::builtin());
    REQUIRE(check);
    CHECK(check->domain.name == "Some Token");
    CHECK(check->signer_matches);
}

TEST_CASE("check_exact_payload: tampering changes the recovered signer", "[wallet][exact]") {
    auto v = ordered_vectors();
    const auto& c = v["cases"][0];
    auto decoded = protocol::decode_payment_header(c["headers"]["PAYMENT-SIGNATURE"].get<std::string>());
    REQUIRE(decoded);
    const auto registry = protocol::network_registry::builtin();
    auto good = check_exact_payload(*decoded, nullptr, registry);
    REQUIRE(good);
    CHECK(good->signer_matches);

    auto tampered = *decoded;
    tampered.payload["authorization"]["value"] = "10001";
    auto t = check_exact_payload(tampered, nullptr, registry);
    REQUIRE(t);
    CHECK_FALSE(t->signer_matches);

    auto wrong_domain = *decoded;
    wrong_domain.accepted["extra"]["name"] = "USD Coin";
    auto w = check_exact_payload(wrong_domain, nullptr, registry);
    REQUIRE(w);
    CHECK_FALSE(w->signer_matches);

    auto bad_sig = *decoded;
    bad_sig.payload["signature"] = "0x1234";
    auto b = check_exact_payload(bad_sig, nullptr, registry);
    REQUIRE_FALSE(b);
    CHECK(b.error().code == errc::bad_signature);

    auto missing = *decoded;
    missing.payload["authorization"].erase("nonce");
    auto m = check_exact_payload(missing, nullptr, registry);
    REQUIRE_FALSE(m);
    CHECK(m.error().code == protocol::errc::missing_field);

    // A v1 payload names no domain: the requirements are needed.
    auto v1 = protocol::decode_payment_header(v["cases"][1]["headers"]["X-PAYMENT"].get<std::string>());
    REQUIRE(v1);
    auto no_offer = check_exact_payload(*v1, nullptr, registry);
    REQUIRE_FALSE(no_offer);
    CHECK(no_offer.error().code == errc::unsupported_offer);
}
