// EIP-1559 (type 2) transactions: the wallet's own on-chain calls, used only for the escrow's
// exits and explicit deposits (`purser iou deposit|withdraw`); payments never need one.
#pragma once

#include <cstdint>

#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/uint256.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::wallet {

struct eip1559_transaction {
    std::uint64_t chain_id = 0;
    std::uint64_t nonce = 0;
    protocol::uint256 max_priority_fee_per_gas;
    protocol::uint256 max_fee_per_gas;
    std::uint64_t gas = 0;
    protocol::address to;
    protocol::uint256 value;
    protocol::bytes data;
};

/// keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value,
/// data, accessList])) with an empty access list: what the sender signs.
[[nodiscard]] protocol::bytes32 signing_hash(const eip1559_transaction& tx);

struct signed_transaction {
    protocol::bytes raw;     ///< 0x02 || rlp([...fields, accessList, yParity, r, s]).
    protocol::bytes32 hash;  ///< keccak256(raw), the transaction hash.
};

/// Signs `tx` with `s`. Errors: the signer's.
[[nodiscard]] result<signed_transaction> sign_transaction(signer& s, const eip1559_transaction& tx);

/// A raw transaction read back, with the address its signature recovers to.
struct received_transaction {
    eip1559_transaction tx;
    protocol::address sender;
    protocol::bytes32 hash;
};

/// Decodes and checks a raw type-2 transaction (canonical RLP, empty access list, a `to`,
/// yParity 0 or 1, low s). Errors: protocol invalid_value or wallet bad_signature.
[[nodiscard]] result<received_transaction> read_transaction(protocol::byte_view raw);

}  // namespace purser::wallet
