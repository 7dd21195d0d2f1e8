// Signature recovery and signing for the chain and facilitator, on libsecp256k1.
#include "purser/testnet/accounts.hpp"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstring>

#include "purser/protocol/keccak.hpp"
#include "purser/testnet/errc.hpp"

namespace purser::testnet {
namespace {

using protocol::address;
using protocol::bytes;
using protocol::bytes32;

// One context for the process; secp256k1 contexts are safe to share once created.
const secp256k1_context* context() {
    static secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    return ctx;
}

address address_from_pubkey(const secp256k1_pubkey& pub) {
    std::uint8_t out[65];
    std::size_t len = sizeof out;
    secp256k1_ec_pubkey_serialize(context(), out, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
    auto h = protocol::keccak256(protocol::byte_view(out + 1, 64));
    std::array<std::uint8_t, 20> raw{};
    std::memcpy(raw.data(), h.data() + 12, 20);
    return address(raw);
}

}  // namespace

result<address> recover_signer(const bytes32& digest, protocol::byte_view signature) {
    if (signature.size() != 65) return fail(errc::invalid_signature, "signature must be 65 bytes");
    const int v = signature[64];
    if (v != 27 && v != 28) return fail(errc::invalid_signature, "v must be 27 or 28");
    secp256k1_ecdsa_signature plain;
    if (secp256k1_ecdsa_signature_parse_compact(context(), &plain, signature.data()) != 1) {
        return fail(errc::invalid_signature, "r or s out of range");
    }
    // USDC (like OpenZeppelin's ECDSA) refuses malleable high-s signatures.
    secp256k1_ecdsa_signature normalized;
    if (secp256k1_ecdsa_signature_normalize(context(), &normalized, &plain) == 1) {
        return fail(errc::invalid_signature, "s is in the upper half order");
    }
    secp256k1_ecdsa_recoverable_signature sig;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &sig, signature.data(),
                                                            v - 27) != 1) {
        return fail(errc::invalid_signature, "unparseable signature");
    }
    secp256k1_pubkey pub;
    if (secp256k1_ecdsa_recover(context(), &pub, &sig, digest.data()) != 1) {
        return fail(errc::invalid_signature, "signature does not recover");
    }
    return address_from_pubkey(pub);
}

result<bytes> sign_digest(const bytes32& private_key, const bytes32& digest) {
    secp256k1_ecdsa_recoverable_signature sig;
    if (secp256k1_ecdsa_sign_recoverable(context(), &sig, digest.data(), private_key.data(),
                                         nullptr, nullptr) != 1) {
        return fail(errc::invalid_request, "invalid private key");
    }
    bytes out(65);
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), out.data(), &recid, &sig);
    out[64] = static_cast<std::uint8_t>(27 + recid);
    return out;
}

result<address> address_of_key(const bytes32& private_key) {
    secp256k1_pubkey pub;
    if (secp256k1_ec_pubkey_create(context(), &pub, private_key.data()) != 1) {
        return fail(errc::invalid_request, "invalid private key");
    }
    return address_from_pubkey(pub);
}

}  // namespace purser::testnet
