// The EIP-712 messages x402 signs on EVM chains, as typed values and as typed_data.
#pragma once

#include <cstdint>
#include <string>

#include "purser/protocol/address.hpp"
#include "purser/protocol/eip712.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::protocol {

/// The 4-field domain USDC and the batch-settlement contract use.
struct eip712_domain {
    std::string name;
    std::string version;
    std::uint64_t chain_id = 0;
    address verifying_contract;
};
[[nodiscard]] nlohmann::json to_json(const eip712_domain& d);

/// EIP-3009 TransferWithAuthorization / ReceiveWithAuthorization fields.
struct transfer_authorization {
    address from;
    address to;
    uint256 value;
    uint256 valid_after;
    uint256 valid_before;
    bytes32 nonce{};
};

enum class authorization_kind { transfer, receive };

/// Typed data for TransferWithAuthorization (exact scheme) or ReceiveWithAuthorization
/// (batch-settlement deposits through the ERC-3009 deposit collector).
[[nodiscard]] eip712::typed_data authorization_typed_data(const eip712_domain& domain,
                                                          const transfer_authorization& auth,
                                                          authorization_kind kind);

/// The EIP-712 digest of authorization_typed_data(domain, auth, kind), computed straight from the
/// fixed layout of these two types: what a payer signs and a verifier recovers from. Equal to
/// eip712::hash_typed_data of the typed data (tested on the published vectors and against it),
/// without building and re-parsing the JSON in between, which was most of signing's cost after
/// secp256k1 itself.
[[nodiscard]] bytes32 authorization_digest(const eip712_domain& domain, const transfer_authorization& auth,
                                           authorization_kind kind);

/// The official batch-settlement contracts (same address on every chain, CREATE2).
[[nodiscard]] const address& batch_settlement_contract();
[[nodiscard]] const address& erc3009_deposit_collector();

/// The batch-settlement domain {name:"x402 Batch Settlement", version:"1", chainId, contract}.
[[nodiscard]] eip712_domain batch_settlement_domain(std::uint64_t chain_id);

struct channel_config {
    address payer;
    address payer_authorizer;
    address receiver;
    address receiver_authorizer;
    address token;
    std::uint64_t withdraw_delay = 0;  ///< uint40 seconds
    bytes32 salt{};
    bool operator==(const channel_config&) const = default;
};
[[nodiscard]] nlohmann::json to_json(const channel_config& c);
/// Parses {payer, payerAuthorizer, receiver, receiverAuthorizer, token, withdrawDelay, salt}.
[[nodiscard]] result<channel_config> channel_config_from_json(const nlohmann::json& j);

[[nodiscard]] eip712::typed_data channel_config_typed_data(std::uint64_t chain_id,
                                                           const channel_config& c);
/// channelId = the full EIP-712 hash of the ChannelConfig under the batch domain.
[[nodiscard]] bytes32 channel_id(std::uint64_t chain_id, const channel_config& c);

/// Voucher(bytes32 channelId,uint128 maxClaimableAmount); precondition: amount fits 128 bits.
[[nodiscard]] eip712::typed_data voucher_typed_data(std::uint64_t chain_id, const bytes32& channel,
                                                    const uint256& max_claimable);
/// Refund(bytes32 channelId,uint256 nonce,uint128 amount)
[[nodiscard]] eip712::typed_data refund_typed_data(std::uint64_t chain_id, const bytes32& channel,
                                                   const uint256& nonce, const uint256& amount);

/// The deposit authorization nonce: keccak256(abi.encode(bytes32 channelId, uint256 salt)).
[[nodiscard]] bytes32 deposit_nonce(const bytes32& channel, const uint256& salt);

}  // namespace purser::protocol
