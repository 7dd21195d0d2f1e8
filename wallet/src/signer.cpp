#include "purser/wallet/signer.hpp"

namespace purser::wallet {

result<signature> sign_typed_data(signer& s, const protocol::eip712::typed_data& data) {
    PURSER_TRY(digest, protocol::eip712::hash_typed_data(data));
    return s.sign_digest(digest);
}

local_signer::local_signer(private_key&& key) : key_(std::move(key)), address_(key_.address()) {}

// The key is only read and the signing context is shared read-only, so concurrent calls need
// no lock.
result<signature> local_signer::sign_digest(const protocol::bytes32& digest) {
    return wallet::sign_digest(key_, digest);
}

}  // namespace purser::wallet
