// A simulated EVM chain holding one EIP-3009 stablecoin (USDC's rules) and the x402
// batch-settlement escrow. Every state change is a transaction with a hash and a receipt; state
// lives in LMDB so a restart keeps it. A rejected transaction changes nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "purser/protocol/address.hpp"
#include "purser/protocol/uint256.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/testnet/errc.hpp"

namespace purser::testnet {

using protocol::address;
using protocol::bytes32;
using protocol::uint256;

/// Unix seconds; injectable so tests can move time.
using clock_fn = std::function<std::uint64_t()>;
[[nodiscard]] std::uint64_t system_seconds();

/// Seconds per block: the block number is 1 + (now - genesis) / block_seconds.
inline constexpr std::uint64_t block_seconds = 2;

struct receipt {
    bytes32 hash{};
    std::uint64_t block_number = 0;
    bool status = true;      ///< False only for an account's own transaction that reverted.
    std::string kind;        ///< "mint", "transferWithAuthorization", "deposit", "claim", ...
    nlohmann::json logs;     ///< [{event, ...fields}] summary of the events the call emitted.
};

/// On-chain view of a batch-settlement channel (`channels(bytes32)`).
struct channel_state {
    bool exists = false;
    protocol::channel_config config;
    uint256 balance;                    ///< Deposited minus refunds and withdrawals.
    uint256 total_claimed;              ///< Cumulative claims (never above balance).
    std::uint64_t withdraw_requested_at = 0;
    uint256 withdraw_amount;
    uint256 refund_nonce;
};

/// EIP-3009 ReceiveWithAuthorization parameters of a deposit (the payer signs them).
struct deposit_authorization {
    uint256 valid_after;
    uint256 valid_before;
    uint256 salt;                       ///< nonce = deposit_nonce(channelId, salt)
    protocol::bytes signature;
};

/// Whether a call is executed or only checked (the facilitator's eth_call simulation).
enum class exec { commit, simulate };

class chain {
public:
    /// Opens (or creates) the chain in `dir`. The token is protocol::testnet_usdc on chain 31337.
    [[nodiscard]] static result<std::unique_ptr<chain>> open(const std::filesystem::path& dir,
                                                             clock_fn clock = system_seconds);
    ~chain();
    chain(const chain&) = delete;
    chain& operator=(const chain&) = delete;

    [[nodiscard]] std::uint64_t chain_id() const;
    [[nodiscard]] const address& token() const;
    /// {name:"USDC", version:"2", chainId:31337, verifyingContract: token}.
    [[nodiscard]] const protocol::eip712_domain& token_domain() const;
    [[nodiscard]] std::uint64_t now() const;
    [[nodiscard]] std::uint64_t block_number() const;

    // Views.
    [[nodiscard]] result<uint256> balance_of(const address& who) const;
    [[nodiscard]] result<uint256> total_supply() const;
    /// True when the nonce was used or canceled (USDC's authorizationState).
    [[nodiscard]] result<bool> authorization_state(const address& authorizer, const bytes32& nonce) const;
    [[nodiscard]] result<channel_state> channel(const bytes32& channel_id) const;
    /// Claimed but not yet settled funds for `receiver`.
    [[nodiscard]] result<uint256> unsettled(const address& receiver) const;
    [[nodiscard]] result<std::optional<receipt>> get_receipt(const bytes32& hash) const;

    // Token transactions. Each returns the transaction hash (all zero when simulated).
    [[nodiscard]] result<bytes32> mint(const address& to, const uint256& amount);
    [[nodiscard]] result<bytes32> transfer_with_authorization(
        const protocol::transfer_authorization& auth, protocol::byte_view signature,
        exec mode = exec::commit);
    /// `caller` must equal auth.to (USDC's front-running protection).
    [[nodiscard]] result<bytes32> receive_with_authorization(
        const address& caller, const protocol::transfer_authorization& auth,
        protocol::byte_view signature, exec mode = exec::commit);
    [[nodiscard]] result<bytes32> cancel_authorization(const address& authorizer,
                                                       const bytes32& nonce,
                                                       protocol::byte_view signature);

    // Batch-settlement escrow (protocol::batch_settlement_contract()).
    /// Deposit through the ERC-3009 collector: receiveWithAuthorization(payer -> collector,
    /// amount, nonce = deposit_nonce(channelId, salt)), then credit the channel.
    [[nodiscard]] result<bytes32> deposit(const protocol::channel_config& config,
                                          const uint256& amount, const deposit_authorization& auth,
                                          exec mode = exec::commit);
    /// Raises totalClaimed to `total_claimed` (<= the voucher's maxClaimable, <= balance, and
    /// not below the current totalClaimed), with the payerAuthorizer's voucher signature.
    /// `caller` must be the receiver or the receiverAuthorizer.
    [[nodiscard]] result<bytes32> claim(const address& caller, const protocol::channel_config& config,
                                        const uint256& max_claimable, protocol::byte_view voucher_signature,
                                        const uint256& total_claimed, exec mode = exec::commit);
    /// Transfers every claimed-but-unsettled amount of `receiver` from the escrow to it.
    [[nodiscard]] result<bytes32> settle(const address& receiver);
    /// Cooperative refund signed by the receiverAuthorizer (Refund(channelId, nonce, amount)).
    /// The nonce advances first; at most balance - totalClaimed moves back to the payer.
    [[nodiscard]] result<bytes32> refund_with_signature(const protocol::channel_config& config,
                                                        const uint256& amount, const uint256& nonce,
                                                        protocol::byte_view signature,
                                                        exec mode = exec::commit);
    /// Timed withdrawal; `caller` must be the payer or payerAuthorizer.
    [[nodiscard]] result<bytes32> initiate_withdraw(const address& caller,
                                                    const protocol::channel_config& config,
                                                    const uint256& amount);
    [[nodiscard]] result<bytes32> finalize_withdraw(const address& caller,
                                                    const protocol::channel_config& config);

    // Accounts' own transactions (eth_sendRawTransaction) and time.
    /// Moves the chain's clock forward by `seconds` (kept across restarts); returns the new time.
    [[nodiscard]] result<std::uint64_t> increase_time(std::uint64_t seconds);
    /// The sender's next nonce (eth_getTransactionCount).
    [[nodiscard]] result<std::uint64_t> transaction_count(const address& sender) const;
    /// Runs `call` as the sender's transaction `tx_hash`: `nonce` must be the sender's next and
    /// is used whether the call succeeds or reverts (as on Ethereum); the receipt (the call's
    /// logs, or status 0 with the revert reason) is stored under `tx_hash`.
    /// Errors: invalid_request (wrong nonce, a known hash), storage.
    [[nodiscard]] result<receipt> run_transaction(const bytes32& tx_hash, const address& sender,
                                                  std::uint64_t nonce,
                                                  const std::function<result<bytes32>()>& call);

private:
    struct impl;
    explicit chain(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace purser::testnet
