#include "purser/wallet/keys.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "purser/protocol/keccak.hpp"
#include "purser/wallet/errc.hpp"
#include "purser/wallet/signer.hpp"
#include "test_support.hpp"

using namespace purser;
using namespace purser::wallet;

namespace {

protocol::bytes32 digest_of(const std::string& text) { return protocol::keccak256(text); }

// n - s for a 32-byte big-endian s (n = the secp256k1 group order).
std::array<std::uint8_t, 32> negate_mod_n(const std::uint8_t* s) {
    static constexpr std::array<std::uint8_t, 32> n = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
        0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    std::array<std::uint8_t, 32> out{};
    int borrow = 0;
    for (int i = 31; i >= 0; --i) {
        int d = n[static_cast<std::size_t>(i)] - s[i] - borrow;
        borrow = d < 0 ? 1 : 0;
        out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(d + (borrow != 0 ? 256 : 0));
    }
    return out;
}

}  // namespace

TEST_CASE("addresses.json: private key -> public key -> EIP-55 address", "[wallet][keys]") {
    auto v = test::load_vectors("addresses.json");
    REQUIRE(v["cases"].size() >= 4);
    for (const auto& c : v["cases"]) {
        auto key = private_key::from_hex(c["private_key"].get<std::string>());
        REQUIRE(key);
        CHECK(protocol::to_hex(key->public_key()) == c["public_key"]);
        CHECK(key->address().to_checksum() == c["address"]);
        CHECK(address_of_public_key(key->public_key()) == key->address());
    }
}

TEST_CASE("private keys: invalid input is refused without echoing it", "[wallet][keys]") {
    const std::string zero(64, '0');
    const std::string order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    const std::string order_minus_1 = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
    for (const std::string& bad : {zero, order, std::string(63, '1'), std::string(66, '1'),
                                   std::string("0x") + std::string(63, 'a') + "g", std::string()}) {
        auto k = private_key::from_hex(bad);
        REQUIRE_FALSE(k);
        CHECK(k.error().code == errc::bad_key);
        if (!bad.empty()) CHECK(k.error().message().find(bad) == std::string::npos);
    }
    CHECK(private_key::from_hex(order_minus_1));
    CHECK(private_key::from_hex("  0X" + order_minus_1 + "\n"));
    CHECK_FALSE(private_key::from_bytes(protocol::bytes(31, 1)));
    CHECK(private_key::from_bytes(protocol::bytes(32, 1)));
}

TEST_CASE("generated keys are distinct and valid and clone keeps the address", "[wallet][keys]") {
    auto a = private_key::generate();
    auto b = private_key::generate();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->address() != b->address());
    auto c = a->clone();
    CHECK(c.address() == a->address());
    auto moved = std::move(*a);
    CHECK(moved.address() == c.address());
}

TEST_CASE("1000 random keys and digests sign and recover (seeded)", "[wallet][keys]") {
    const std::uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 0x5eed402u;
    std::cout << "wallet sign/recover seed: " << seed << "\n";
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    int checked = 0;
    for (int i = 0; i < 1000; ++i) {
        protocol::bytes raw(32);
        protocol::bytes32 digest{};
        for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
        for (auto& b : digest) b = static_cast<std::uint8_t>(rng());
        auto key = private_key::from_bytes(raw);
        if (!key) continue;  // probability ~2^-128
        auto sig = sign_digest(*key, digest);
        REQUIRE(sig);
        CHECK((sig->v() == 27 || sig->v() == 28));
        // Deterministic (RFC 6979): signing again gives the same bytes.
        CHECK(*sign_digest(*key, digest) == *sig);
        auto rec = recover_address(digest, *sig);
        REQUIRE(rec);
        REQUIRE(*rec == key->address());
        // Round trip through hex.
        auto parsed = signature::from_hex(sig->to_hex());
        REQUIRE(parsed);
        CHECK(*parsed == *sig);
        // A different digest recovers someone else.
        digest[0] ^= 1;
        auto other = recover_address(digest, *sig);
        CHECK((!other || *other != key->address()));
        ++checked;
    }
    CHECK(checked == 1000);
}

TEST_CASE("high-s and wrong-v signatures are rejected", "[wallet][keys]") {
    auto key = *private_key::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    const auto digest = digest_of("purser high-s test");
    auto sig = *sign_digest(key, digest);
    auto raw = sig.bytes();

    // The malleated twin (r, n - s, flipped v) is a valid ECDSA signature but not low-s.
    auto high = raw;
    auto neg = negate_mod_n(raw.data() + 32);
    std::copy(neg.begin(), neg.end(), high.begin() + 32);
    high[64] = static_cast<std::uint8_t>(raw[64] == 27 ? 28 : 27);
    auto h = signature::from_bytes(high);
    REQUIRE_FALSE(h);
    CHECK(h.error().code == errc::bad_signature);

    for (std::uint8_t v : {0, 1, 26, 29, 255}) {
        auto bad = raw;
        bad[64] = v;
        auto s = signature::from_bytes(bad);
        REQUIRE_FALSE(s);
        CHECK(s.error().code == errc::bad_signature);
    }
    CHECK_FALSE(signature::from_bytes(protocol::byte_view(raw.data(), 64)));
    CHECK_FALSE(signature::from_hex(sig.to_hex().substr(2)));
    // A default signature (all zero) never recovers.
    CHECK_FALSE(recover_address(digest, signature{}));
    // r = 0 is out of range.
    auto zero_r = raw;
    std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
    auto zr = signature::from_bytes(zero_r);
    REQUIRE(zr);
    CHECK_FALSE(recover_address(digest, *zr));
}

TEST_CASE("local_signer signs from several threads", "[wallet][keys]") {
    local_signer s(*private_key::from_hex(
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"));
    CHECK(s.address().to_checksum() == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                auto d = digest_of("thread " + std::to_string(t) + " " + std::to_string(i));
                auto sig = s.sign_digest(d);
                if (sig && recover_address(d, *sig) == s.address()) ++good;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(good == 200);
}

TEST_CASE("wallet error category names every code", "[wallet][keys]") {
    CHECK(std::string(wallet_category().name()) == "wallet");
    for (int e = static_cast<int>(errc::bad_key); e <= static_cast<int>(errc::harden_failed); ++e) {
        CHECK(make_error_code(static_cast<errc>(e)).message() != "unknown wallet error");
    }
    CHECK(make_error_code(static_cast<errc>(999)).message() == "unknown wallet error");
}
