// Who signs: an interface so a remote signer (KMS, Vault) can replace the local key later.
#pragma once

#include <memory>

#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/eip712.hpp"
#include "purser/protocol/result.hpp"
#include "purser/wallet/keys.hpp"

namespace purser::wallet {

/// Signs EIP-712 digests for one address. Implementations must be safe to call from several
/// threads at once (the proxy signs from its worker pool).
class signer {
public:
    signer() = default;
    signer(const signer&) = delete;
    signer& operator=(const signer&) = delete;
    virtual ~signer() = default;

    /// The address signatures recover to.
    [[nodiscard]] virtual protocol::address address() const = 0;
    /// A 65-byte signature over `digest`. Errors: signing_failed (or a remote signer's own).
    [[nodiscard]] virtual result<signature> sign_digest(const protocol::bytes32& digest) = 0;
};

/// Hashes `data` (EIP-712) and signs the digest. Errors: those of hash_typed_data, and the
/// signer's.
[[nodiscard]] result<signature> sign_typed_data(signer& s, const protocol::eip712::typed_data& data);

/// A signer holding a private key in this process.
class local_signer final : public signer {
public:
    explicit local_signer(private_key&& key);

    [[nodiscard]] protocol::address address() const override { return address_; }
    [[nodiscard]] result<signature> sign_digest(const protocol::bytes32& digest) override;

private:
    private_key key_;
    protocol::address address_;
};

}  // namespace purser::wallet
