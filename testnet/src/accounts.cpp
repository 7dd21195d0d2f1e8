// The chain's and facilitator's signature work, on the wallet's secp256k1 code: one
// implementation of recovery and signing in the project, tested against the vectors there.
#include "purser/testnet/accounts.hpp"

#include "purser/testnet/errc.hpp"
#include "purser/wallet/keys.hpp"

namespace purser::testnet {

using protocol::address;
using protocol::bytes;
using protocol::bytes32;

result<address> recover_signer(const bytes32& digest, protocol::byte_view signature) {
    // from_bytes checks the length, v in {27, 28} and low s, as USDC's ECRecover does.
    auto sig = wallet::signature::from_bytes(signature);
    auto who = sig ? wallet::recover_address(digest, *sig) : tl::unexpected(sig.error());
    if (!who) return fail(errc::invalid_signature, who.error().detail);
    return *who;
}

result<bytes> sign_digest(const bytes32& private_key, const bytes32& digest) {
    auto key = wallet::private_key::from_bytes(private_key);
    auto sig = key ? wallet::sign_digest(*key, digest) : tl::unexpected(key.error());
    if (!sig) return fail(errc::invalid_request, "invalid private key");
    return bytes(sig->bytes().begin(), sig->bytes().end());
}

result<address> address_of_key(const bytes32& private_key) {
    auto key = wallet::private_key::from_bytes(private_key);
    if (!key) return fail(errc::invalid_request, "invalid private key");
    return key->address();
}

}  // namespace purser::testnet
