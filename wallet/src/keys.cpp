#include "purser/wallet/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>

#include "purser/protocol/keccak.hpp"
#include "purser/wallet/errc.hpp"

namespace purser::wallet {
namespace {

/// The one signing context of the process: created once, randomized once (side-channel
/// blinding), then only used through const pointers, which libsecp256k1 documents as safe to
/// share between threads. Verify-only work uses secp256k1_context_static instead.
class signing_context {
public:
    signing_context() {
        ctx_ = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
        if (ctx_ == nullptr) std::abort();  // Out of memory at startup: nothing sane to do.
        std::array<unsigned char, 32> seed{};
        if (RAND_priv_bytes(seed.data(), static_cast<int>(seed.size())) == 1) {
            // Randomization only adds blinding; a failure leaves a correct (unblinded) context.
            const int blinded = secp256k1_context_randomize(ctx_, seed.data());
            static_cast<void>(blinded);
        }
        OPENSSL_cleanse(seed.data(), seed.size());
    }
    ~signing_context() { secp256k1_context_destroy(ctx_); }
    signing_context(const signing_context&) = delete;
    signing_context& operator=(const signing_context&) = delete;

    [[nodiscard]] const secp256k1_context* get() const { return ctx_; }

private:
    secp256k1_context* ctx_ = nullptr;
};

const secp256k1_context* signing_ctx() {
    static const signing_context instance;
    return instance.get();
}

/// The verify-only static context, after libsecp256k1's self test has run once (it aborts on a
/// miscompiled library, which is better than wrong signatures).
const secp256k1_context* static_ctx() {
    static const bool tested = [] {
        secp256k1_selftest();
        return true;
    }();
    (void)tested;
    return secp256k1_context_static;
}

/// Half the curve order n, big-endian: a signature's s must not exceed it (EIP-2).
constexpr std::array<std::uint8_t, 32> half_order = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

bool is_high_s(const std::uint8_t* s) {
    return std::lexicographical_compare(half_order.begin(), half_order.end(), s, s + 32);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

result<void> random_bytes(std::uint8_t* out, std::size_t size) {
    while (size > 0) {
        const std::size_t chunk = std::min<std::size_t>(size, 1 << 20);
        if (RAND_bytes(out, static_cast<int>(chunk)) != 1) {
            return fail(errc::rng_failed, "RAND_bytes");
        }
        out += chunk;
        size -= chunk;
    }
    return {};
}

private_key::~private_key() {
    if (secret_) OPENSSL_cleanse(secret_->data(), secret_->size());
}

result<private_key> private_key::generate() {
    auto s = std::make_unique<secret_bytes>();
    // A random 32-byte string is a valid scalar except with probability ~2^-128; loop anyway.
    for (int attempt = 0; attempt < 64; ++attempt) {
        if (RAND_priv_bytes(s->data(), static_cast<int>(s->size())) != 1) {
            OPENSSL_cleanse(s->data(), s->size());
            return fail(errc::rng_failed, "RAND_priv_bytes");
        }
        if (secp256k1_ec_seckey_verify(static_ctx(), s->data()) == 1) {
            return private_key(std::move(s));
        }
    }
    OPENSSL_cleanse(s->data(), s->size());
    return fail(errc::rng_failed, "no valid key after 64 draws");
}

result<private_key> private_key::from_bytes(protocol::byte_view raw) {
    if (raw.size() != 32) return fail(errc::bad_key, "a private key is 32 bytes");
    auto s = std::make_unique<secret_bytes>();
    std::copy(raw.begin(), raw.end(), s->begin());
    if (secp256k1_ec_seckey_verify(static_ctx(), s->data()) != 1) {
        OPENSSL_cleanse(s->data(), s->size());
        return fail(errc::bad_key, "not a valid secp256k1 secret (zero or not below the order)");
    }
    return private_key(std::move(s));
}

result<private_key> private_key::from_hex(std::string_view text) {
    // Parsed by hand straight into the wiped buffer, so no temporary copy of the secret stays
    // behind in a std::string or vector.
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
        text.remove_suffix(1);
    }
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
    }
    if (text.size() != 64) return fail(errc::bad_key, "expected 64 hex digits");
    auto s = std::make_unique<secret_bytes>();
    bool ok = true;
    for (std::size_t i = 0; i < 32; ++i) {
        const int hi = hex_value(text[2 * i]);
        const int lo = hex_value(text[2 * i + 1]);
        ok = ok && hi >= 0 && lo >= 0;
        (*s)[i] = static_cast<std::uint8_t>(((hi & 0xf) << 4) | (lo & 0xf));
    }
    if (!ok) {
        OPENSSL_cleanse(s->data(), s->size());
        return fail(errc::bad_key, "expected 64 hex digits");
    }
    if (secp256k1_ec_seckey_verify(static_ctx(), s->data()) != 1) {
        OPENSSL_cleanse(s->data(), s->size());
        return fail(errc::bad_key, "not a valid secp256k1 secret (zero or not below the order)");
    }
    return private_key(std::move(s));
}

private_key private_key::clone() const {
    return private_key(std::make_unique<secret_bytes>(*secret_));
}

std::array<std::uint8_t, 65> private_key::public_key() const {
    secp256k1_pubkey pub;
    // Cannot fail: the secret was verified on construction.
    if (secp256k1_ec_pubkey_create(signing_ctx(), &pub, secret_->data()) != 1) std::abort();
    std::array<std::uint8_t, 65> out{};
    std::size_t len = out.size();
    secp256k1_ec_pubkey_serialize(static_ctx(), out.data(), &len, &pub,
                                  SECP256K1_EC_UNCOMPRESSED);
    return out;
}

protocol::address private_key::address() const { return address_of_public_key(public_key()); }

protocol::address address_of_public_key(const std::array<std::uint8_t, 65>& pub) {
    const auto h = protocol::keccak256(protocol::byte_view(pub.data() + 1, 64));
    std::array<std::uint8_t, 20> a{};
    std::copy(h.begin() + 12, h.end(), a.begin());
    return protocol::address(a);
}

result<signature> signature::from_bytes(protocol::byte_view raw) {
    if (raw.size() != 65) return fail(errc::bad_signature, "a signature is 65 bytes (r || s || v)");
    if (raw[64] != 27 && raw[64] != 28) return fail(errc::bad_signature, "v must be 27 or 28");
    if (is_high_s(raw.data() + 32)) return fail(errc::bad_signature, "s is not in the lower half");
    std::array<std::uint8_t, 65> a{};
    std::copy(raw.begin(), raw.end(), a.begin());
    return signature(a);
}

result<signature> signature::from_hex(std::string_view text) {
    if (text.size() != 132 || text.substr(0, 2) != "0x") {
        return fail(errc::bad_signature, "expected 0x and 130 hex digits");
    }
    auto b = protocol::from_hex(text);
    if (!b) return fail(errc::bad_signature, "expected 0x and 130 hex digits");
    return from_bytes(*b);
}

std::string signature::to_hex() const { return protocol::to_hex(raw_); }

result<signature> sign_digest(const private_key& key, const protocol::bytes32& digest) {
    secp256k1_ecdsa_recoverable_signature rsig;
    // nonce function null = RFC 6979 without extra entropy: deterministic, as viem signs.
    if (secp256k1_ecdsa_sign_recoverable(signing_ctx(), &rsig, digest.data(), key.reveal().data(),
                                         nullptr, nullptr) != 1) {
        return fail(errc::signing_failed, "secp256k1_ecdsa_sign_recoverable");
    }
    std::array<std::uint8_t, 65> out{};
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(static_ctx(), out.data(),
                                                            &recid, &rsig);
    // libsecp256k1 always produces low-s signatures, so recid is 0 or 1.
    out[64] = static_cast<std::uint8_t>(27 + recid);
    return signature(out);
}

result<protocol::address> recover_address(const protocol::bytes32& digest, const signature& sig) {
    const auto& raw = sig.bytes();
    // A default-constructed signature (all zero) or one built around the checks is refused here.
    if (raw[64] != 27 && raw[64] != 28) return fail(errc::bad_signature, "v must be 27 or 28");
    if (is_high_s(raw.data() + 32)) return fail(errc::bad_signature, "s is not in the lower half");
    secp256k1_ecdsa_recoverable_signature rsig;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(static_ctx(), &rsig,
                                                            raw.data(), raw[64] - 27) != 1) {
        return fail(errc::bad_signature, "r or s out of range");
    }
    secp256k1_pubkey pub;
    if (secp256k1_ecdsa_recover(static_ctx(), &pub, &rsig, digest.data()) != 1) {
        return fail(errc::bad_signature, "no public key recovers from this signature");
    }
    std::array<std::uint8_t, 65> out{};
    std::size_t len = out.size();
    secp256k1_ec_pubkey_serialize(static_ctx(), out.data(), &len, &pub,
                                  SECP256K1_EC_UNCOMPRESSED);
    return address_of_public_key(out);
}

}  // namespace purser::wallet
