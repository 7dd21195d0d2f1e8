// The testnet's fixed accounts: well-known Hardhat development keys, public and worthless.
// Never fund these on a real network. See testnet/README.md.
#pragma once

#include <string_view>

#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/result.hpp"

namespace purser::testnet {

struct test_account {
    std::string_view name;
    std::string_view private_key;  ///< 0x + 64 hex: published Hardhat key, obviously fake.
    std::string_view address;      ///< EIP-55 form.
};

/// Hardhat #0: the funded payer whose keystore `testnet up` writes.
inline constexpr test_account payer_account{
    "payer", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"};
/// Hardhat #1: the merchants' payTo and channel receiver.
inline constexpr test_account payee_account{
    "payee", "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"};
/// Hardhat #2: the facilitator (transaction relayer and batch receiverAuthorizer).
inline constexpr test_account facilitator_account{
    "facilitator", "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"};
/// Hardhat #3: a second payer that `testnet up` funds with only a little (underfunded tests).
inline constexpr test_account poor_account{
    "poor", "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906"};

/// ecrecover as the chain (and USDC's ECRecover) does it: 65 bytes r||s||v, v in {27,28},
/// s in the lower half order. Errors: invalid_signature.
[[nodiscard]] result<protocol::address> recover_signer(const protocol::bytes32& digest,
                                                       protocol::byte_view signature);

/// Signs a 32-byte digest with a raw key (RFC 6979), returning r||s||v with v in {27,28}. The
/// facilitator uses this for its receiverAuthorizer signatures. Errors: invalid_request.
[[nodiscard]] result<protocol::bytes> sign_digest(const protocol::bytes32& private_key,
                                                  const protocol::bytes32& digest);

/// The address of a raw private key. Errors: invalid_request.
[[nodiscard]] result<protocol::address> address_of_key(const protocol::bytes32& private_key);

}  // namespace purser::testnet
