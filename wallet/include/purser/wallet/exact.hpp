// The x402 `exact` scheme on EVM: an EIP-3009 TransferWithAuthorization as the official client
// (@x402/evm 2.27.0) builds it, and the check a verifier makes of one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "purser/protocol/address.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::wallet {

/// How sign_exact fills in what the official client takes from the clock and the CSPRNG. Every
/// field left empty gets the client's behaviour; set them for reproducible output.
struct exact_options {
    /// Never authorize for longer than this, whatever maxTimeoutSeconds the merchant asks.
    std::uint64_t max_window_seconds = 300;
    std::optional<std::uint64_t> now;           ///< Unix seconds; default the system clock.
    std::optional<protocol::bytes32> nonce;     ///< Default: 32 bytes from the CSPRNG.
    std::optional<std::uint64_t> valid_after;   ///< Default: 0 (v2), now - 600 (v1).
    /// Default: now + min(maxTimeoutSeconds, max_window_seconds). Used exactly as given.
    std::optional<std::uint64_t> valid_before;
    /// Resolves v1 network names to chain ids; nullptr means network_registry::builtin().
    const protocol::network_registry* registry = nullptr;
};

/// A signed exact payment and the facts the ledger records about it.
struct exact_payment {
    protocol::payment_payload payload;  ///< v1 or v2 shape, ready to serialize.
    std::string header_name;            ///< "PAYMENT-SIGNATURE" (v2) or "X-PAYMENT" (v1).
    std::string header_value;           ///< Base64 of the compact JSON.
    std::string nonce_hex;              ///< "0x" + 64 lowercase hex digits.
    std::uint64_t valid_after = 0;
    std::uint64_t valid_before = 0;
    protocol::uint256 amount;           ///< Atomic units signed (== the offer's amount).
    protocol::address from;
    protocol::address pay_to;
    protocol::address asset;
    std::string network;                ///< As the offer named it.
    std::uint64_t chain_id = 0;
    protocol::bytes32 digest{};         ///< The EIP-712 digest that was signed.
    signature sig;
};

/// The chain id of an EVM network id as x402 writes it: CAIP-2 "eip155:N" (v2) or a v1 name
/// resolved through `registry`. Errors: unsupported_offer.
[[nodiscard]] result<std::uint64_t> evm_chain_id_of(std::string_view network,
                                                    const protocol::network_registry& registry);

/// The token's EIP-712 domain as the offer states it: extra.name, extra.version, the chain id of
/// `network`, verifyingContract = asset. Never from a built-in table.
/// Errors: unsupported_offer (no extra.name/version strings, unknown network, bad asset).
[[nodiscard]] result<protocol::eip712_domain> offer_token_domain(
    const protocol::payment_requirements& offer, const protocol::network_registry& registry);

/// Signs `offer` (one of `required.accepts`) with the exact scheme and builds the payment header
/// in the version of `required` (v1 X-PAYMENT or v2 PAYMENT-SIGNATURE, echoing the offer and
/// resource verbatim). Errors: unsupported_offer (scheme not exact, assetTransferMethod not
/// eip3009, missing extra.name/version, unknown network, bad asset/payTo, valid_before <=
/// valid_after), rng_failed, and the signer's errors.
[[nodiscard]] result<exact_payment> sign_exact(signer& s, const protocol::payment_required& required,
                                               const protocol::payment_requirements& offer,
                                               const exact_options& options = {});

/// What a verifier learns from an exact payload.
struct exact_check {
    protocol::transfer_authorization authorization;
    protocol::eip712_domain domain;
    protocol::bytes32 digest{};
    protocol::address recovered;  ///< Who signed the digest.
    bool signer_matches = false;  ///< recovered == authorization.from.
};

/// Recomputes the EIP-712 digest of an exact payload and recovers the signer. The token domain
/// comes from `offer` when given, else (v2 only) from the payload's own `accepted`. It checks
/// the signature only, not amounts, recipients or times.
/// Errors: bad_signature, unsupported_offer (v1 without `offer`, no extra.name/version), and
/// protocol errors (missing_field, wrong_type, invalid_address, invalid_decimal, invalid_hex)
/// naming the payload field.
[[nodiscard]] result<exact_check> check_exact_payload(const protocol::payment_payload& payload,
                                                      const protocol::payment_requirements* offer,
                                                      const protocol::network_registry& registry);

}  // namespace purser::wallet
