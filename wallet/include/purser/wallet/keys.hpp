// secp256k1 keys, Ethereum addresses and 65-byte recoverable signatures.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/result.hpp"

namespace purser::wallet {

/// A secp256k1 secret key. The 32 bytes live on the heap, are wiped (OPENSSL_cleanse) when the
/// object dies, and are never copied implicitly; there is no stream operator or to_string, so a
/// key cannot reach a log by accident. Move-only; a moved-from key is empty (use is a bug).
class private_key {
public:
    using secret_bytes = std::array<std::uint8_t, 32>;

    /// A fresh key from OpenSSL's RAND_priv_bytes (retried until it is a valid scalar).
    /// Errors: rng_failed.
    [[nodiscard]] static result<private_key> generate();
    /// Exactly 32 big-endian bytes in [1, n-1]. Errors: bad_key.
    [[nodiscard]] static result<private_key> from_bytes(protocol::byte_view raw);
    /// 64 hex digits, "0x" optional, surrounding whitespace ignored. Errors: bad_key (the detail
    /// never echoes the input).
    [[nodiscard]] static result<private_key> from_hex(std::string_view text);

    private_key(private_key&&) noexcept = default;
    private_key& operator=(private_key&&) noexcept = default;
    private_key(const private_key&) = delete;
    private_key& operator=(const private_key&) = delete;
    ~private_key();

    /// An explicit copy (both copies wipe themselves).
    [[nodiscard]] private_key clone() const;

    /// The secret bytes, for signing, keystore encryption and `wallet export` only.
    [[nodiscard]] const secret_bytes& reveal() const { return *secret_; }

    /// The 65-byte uncompressed public key 0x04 || X || Y.
    [[nodiscard]] std::array<std::uint8_t, 65> public_key() const;
    /// keccak256(X || Y)[12..32].
    [[nodiscard]] protocol::address address() const;

private:
    explicit private_key(std::unique_ptr<secret_bytes> s) : secret_(std::move(s)) {}
    std::unique_ptr<secret_bytes> secret_;
};

/// The Ethereum address of an uncompressed (65-byte, 0x04-prefixed) public key.
[[nodiscard]] protocol::address address_of_public_key(const std::array<std::uint8_t, 65>& pub);

/// An ECDSA signature as Ethereum carries it: r (32) || s (32) || v (1), v = 27 or 28, low s.
class signature {
public:
    signature() = default;

    /// 65 bytes with v in {27, 28} and s <= n/2. Errors: bad_signature.
    [[nodiscard]] static result<signature> from_bytes(protocol::byte_view raw);
    /// "0x" + 130 hex digits, then as from_bytes. Errors: bad_signature.
    [[nodiscard]] static result<signature> from_hex(std::string_view text);

    /// "0x" + 130 lowercase hex digits, the form x402 payloads carry.
    [[nodiscard]] std::string to_hex() const;
    [[nodiscard]] const std::array<std::uint8_t, 65>& bytes() const { return raw_; }
    [[nodiscard]] std::uint8_t v() const { return raw_[64]; }

    friend bool operator==(const signature&, const signature&) = default;

private:
    explicit signature(const std::array<std::uint8_t, 65>& raw) : raw_(raw) {}
    friend result<signature> sign_digest(const private_key&, const protocol::bytes32&);
    std::array<std::uint8_t, 65> raw_{};
};

/// Deterministic (RFC 6979) low-s recoverable signature of a 32-byte digest, using the
/// process-wide randomized signing context. Thread-safe. Errors: signing_failed.
[[nodiscard]] result<signature> sign_digest(const private_key& key, const protocol::bytes32& digest);

/// The address whose key produced `sig` over `digest` (verify-only static context).
/// Errors: bad_signature (high s, v not 27/28, or no point recovers).
[[nodiscard]] result<protocol::address> recover_address(const protocol::bytes32& digest,
                                                        const signature& sig);

/// Fills `out` from OpenSSL's CSPRNG (RAND_bytes). Errors: rng_failed.
[[nodiscard]] result<void> random_bytes(std::uint8_t* out, std::size_t size);

}  // namespace purser::wallet
