// Accounts' own signed transactions on the testnet chain (eth_sendRawTransaction): the escrow
// calls a payer makes without a facilitator, namely deposit through the ERC-3009 collector,
// initiateWithdraw and finalizeWithdraw. The chain charges no gas: fees are read but not taken.
#pragma once

#include "purser/protocol/bytes.hpp"
#include "purser/testnet/chain.hpp"

namespace purser::testnet::detail {

/// Checks and runs one raw EIP-1559 transaction. A transaction that cannot be read, is for
/// another chain, carries value, goes to another contract or has the wrong nonce is refused
/// (nothing recorded, the nonce unused); a call the escrow rejects is recorded as reverted.
/// Returns the stored receipt. Errors: invalid_request naming the problem.
[[nodiscard]] result<receipt> apply_raw_transaction(chain& c, protocol::byte_view raw);

}  // namespace purser::testnet::detail
