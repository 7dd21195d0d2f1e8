// The wallet's own transactions: fees, gas and nonce read from the RPC, an EIP-1559
// transaction signed, sent, and its receipt awaited. Only the escrow's exits and explicit
// deposits use this (`purser iou deposit|withdraw`); x402 payments never send a transaction.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "purser/chain/json_rpc.hpp"
#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::chain {

/// What became of a sent transaction.
struct sent_transaction {
    protocol::bytes32 hash{};
    /// false: no receipt within the wait (it may still be mined: never treat as failed).
    bool mined = false;
    bool succeeded = false;  ///< Receipt status 1.
    std::string revert_reason;  ///< When the chain says why (at most 200 bytes, as the node
                                ///< sent it: make it printable before showing it).
};

/// Sends `data` to `to` from `s`. `before_send` runs after signing and before the bytes leave
/// (the caller's last chance to record the transaction's hash durably); an error from it stops
/// the send. Errors: the RPC's (the node refused the transaction: nothing was sent), the
/// signer's, before_send's.
[[nodiscard]] result<sent_transaction> send_transaction(
    const json_rpc_client& rpc, wallet::signer& s, const protocol::address& to,
    const protocol::bytes& data, const std::function<result<void>(const protocol::bytes32&)>& before_send,
    std::chrono::seconds wait = std::chrono::seconds(120));

}  // namespace purser::chain
