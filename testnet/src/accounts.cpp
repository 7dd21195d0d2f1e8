// The chain's and facilitator's signature work, on the wallet's secp256k1 code: one
// implementation of recovery and signing in the project, tested against the vectors there.
#include "purser/testnet/accounts.hpp"

#include <string>

#include "purser/protocol/bounded_memo.hpp"
#include "purser/testnet/errc.hpp"
#include "purser/wallet/keys.hpp"

namespace purser::testnet {

using protocol::address;
using protocol::bytes;
using protocol::bytes32;

namespace {

/// Signers recovered recently, by digest and signature. The facilitator recovers an
/// authorization's signer to verify it and the simulated chain recovers it again to settle it
/// (as a real facilitator and a real contract each would): a tenth of the testnet's CPU per
/// payment each time. Recovery is a function of those bytes alone, so the second one may be a
/// lookup. Only successes are kept.
bounded_memo<address>& recovered() {
    static bounded_memo<address> memo(4096);
    return memo;
}

}  // namespace

result<address> recover_signer(const bytes32& digest, protocol::byte_view signature) {
    std::string key(reinterpret_cast<const char*>(digest.data()), digest.size());
    key.append(reinterpret_cast<const char*>(signature.data()), signature.size());
    if (auto known = recovered().find(key)) return *known;
    // from_bytes checks the length, v in {27, 28} and low s, as USDC's ECRecover does.
    auto sig = wallet::signature::from_bytes(signature);
    auto who = sig ? wallet::recover_address(digest, *sig) : tl::unexpected(sig.error());
    if (!who) return fail(errc::invalid_signature, who.error().detail);
    recovered().keep(std::move(key), *who);
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
