// The x402 payment flow: the payment_hook that turns a merchant's 402 into a reserved, signed,
// replayed and recorded payment. It owns no money logic of its own: the store decides, the
// wallet signs, the protocol library parses; this file sequences them and keeps the invariants.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/uint256.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/result.hpp"
#include "purser/protocol/select.hpp"
#include "purser/proxy/authenticator.hpp"
#include "purser/proxy/detail/terms_cache.hpp"
#include "purser/proxy/metrics.hpp"
#include "purser/proxy/payment_hook.hpp"
#include "purser/store/channel.hpp"
#include "purser/store/ledger.hpp"
#include "purser/store/reason.hpp"

namespace purser::store {
class store;
}
namespace boost::asio {
class thread_pool;
}
namespace purser::wallet {
class signer;
struct batch_channel;
}

namespace purser::proxy {

/// The chain, asked whether an EIP-3009 authorization was used: the only proof that releases a
/// signed payment (DESIGN invariant 2). One implementation asks JSON-RPC endpoints per network;
/// tests script their own.
class authorization_oracle {
public:
    virtual ~authorization_oracle() = default;
    /// True when `network` (CAIP-2) has an endpoint to ask; rows elsewhere stay counted until an
    /// operator runs `purser ledger reconcile`.
    [[nodiscard]] virtual bool covers(const std::string& network) const = 0;
    /// authorizationState(payer, nonce) on `token`. Errors: the RPC failure, unchanged.
    [[nodiscard]] virtual result<bool> authorization_used(const std::string& network,
                                                         const protocol::address& token,
                                                         const protocol::address& payer,
                                                         const protocol::bytes32& nonce) = 0;
    /// What the batch-settlement escrow holds for `channel` on `network`: {balance,
    /// totalClaimed}. How an IOU channel whose local state was lost starts again from the chain.
    /// Errors: the RPC failure; the default has no chain to ask.
    [[nodiscard]] virtual result<std::pair<protocol::uint256, protocol::uint256>> escrow_channel(
        const std::string& network, const protocol::bytes32& channel) {
        (void)network;
        (void)channel;
        return fail(protocol::errc::invalid_value, "no chain reader for the escrow");
    }
};

/// How IOU (batch-settlement) payments are chosen and funded: config `payment.prefer` and
/// `payment.iou`. Amounts are token units as people write them ("1.00"), read with the token's
/// decimals when a channel is funded.
struct iou_policy {
    /// When a 402 offers both, pay by voucher if an open channel covers the call or a deposit
    /// may open one; false pays `exact` whenever it is offered.
    bool prefer = true;
    /// What one automatic deposit puts into a channel (at least what the call needs). "0": the
    /// proxy never deposits by itself; channels are funded with `purser iou deposit`.
    std::string deposit = "0";
    /// The most one channel may hold (deposits), and all channels together (deposits less
    /// claims); "" = no cap of its own.
    std::string max_channel;
    std::string max_total;
    /// How many channels to keep with each merchant (same payer, receiver and token), 1..64.
    /// The merchant accepts exactly the next running total, so one channel carries one voucher
    /// at a time; N channels carry N calls at once. Channel i has salt i (channel 0 is the
    /// official client's default). Another channel is opened, with its own deposit under
    /// max_channel and max_total, only when every funded one is busy.
    unsigned channels = 1;
};

/// The store's record of `channel` with nothing in it yet: on `network` (CAIP-2), its token
/// having `decimals`, first paid at `merchant` (a host). The payment flow and `purser iou
/// deposit` both start a channel from this.
[[nodiscard]] store::channel channel_record(const wallet::batch_channel& channel, const std::string& network,
                                            unsigned decimals, const std::string& merchant);

struct payment_flow_options {
    /// Never sign an authorization that stays valid longer than this (merchants choose
    /// maxTimeoutSeconds; a day-long authorization is a day of exposure).
    std::uint64_t max_window_seconds = 300;
    /// Networks the wallet pays on (CAIP-2 ids or v1 names); empty = every known EVM network
    /// except the local testnet.
    std::set<std::string> networks;
    /// Pay on the local testnet (eip155:31337) too. Off unless configured, so that a merchant
    /// cannot spend an agent's caps with offers on a chain whose tokens are worth nothing.
    bool testnet = false;
    /// Asks the chain about authorizations past their validBefore; null = nothing is released
    /// by the proxy itself (rows stay counted until `purser ledger reconcile`).
    std::shared_ptr<authorization_oracle> oracle;
    /// How often the background prover looks for rows to ask about; 0 = never (tests call
    /// prove_expired themselves).
    std::uint64_t proof_interval_ms = 5'000;
    /// Seconds past validBefore before an unused authorization is taken as dead: block
    /// timestamps may lag this machine's clock.
    std::uint64_t skew_margin_seconds = 60;
    /// Unix seconds; tests inject a fixed clock.
    std::function<std::uint64_t()> now_seconds;
    iou_policy iou;
    /// Counts declines, payment outcomes and settled amounts (from the ledger rows the store
    /// returns, so the counters say what the ledger says); null = nothing counted.
    std::shared_ptr<metrics> stats;
    /// The fleet budgets an agent draws on (fleet.budgets); null = none. Each reservation
    /// needs lease headroom in all of them (store::reserve_request::budgets).
    std::function<std::vector<std::string>(const std::string& agent)> budgets_of;
};


/// The payment_hook backed by a store and a signer. Thread-safe.
///
/// One payment moves through these states, each reached by exactly one event, each but the
/// first leaving its mark in the ledger:
///   402 received -> not x402 (passed through untouched, nothing recorded)
///                 | declined (one declined row; nothing signed)
///                 | reserved (counted, durable) -> signed (the header leaves with the retry)
///   signed -> paid (receipt says settled) | failed (merchant refused; held)
///           | in_doubt (no proof either way) | released (the retry was never sent)
///   failed | in_doubt -> paid | expired, only on the chain's word (prove_expired)
///
/// The merchant is a stranger: what is counted is what was signed, never what a receipt says;
/// receipt fields reach the ledger and the agent's headers only after validation.
class payment_flow final : public payment_hook {
public:
    /// `signer` may be null: every x402 402 is then declined `wallet_locked` (and recorded).
    payment_flow(std::shared_ptr<store::store> ledger, std::shared_ptr<wallet::signer> signer,
                 std::shared_ptr<const protocol::network_registry> registry,
                 payment_flow_options options = {});
    ~payment_flow() override;

    payment_plan on_payment_required(const request_info& request,
                                     const upstream_response& response) override;
    void on_payment_required_async(const request_info& request, const upstream_response& response,
                                   plan_callback done) override;
    paid_outcome on_paid_response(const payment_plan& plan, const request_info& request,
                                  unsigned status, const header_list& headers) override;
    paid_outcome on_paid_failure(const payment_plan& plan, const request_info& request,
                                 proxy::delivery delivered, std::string_view why) override;

    /// Payments signed and sent whose retry has not been answered yet.
    [[nodiscard]] std::size_t in_progress() const;

    /// Asks the oracle about every failed or in-doubt row past validBefore plus the skew margin:
    /// a used nonce makes it paid, an unused one expired (money back). Returns how many rows
    /// changed. Called by the background prover; tests call it directly.
    std::size_t prove_expired();

    /// Ledger writes that failed after a signature existed (each also logged loudly): money
    /// that may move without the record it should have.
    [[nodiscard]] std::uint64_t ledger_errors_after_signing() const {
        return ledger_errors_after_signing_.load();
    }

    struct pending;  ///< One payment between its signature and its final state.

private:
    /// A request waiting for its IOU channel's voucher in flight to be answered.
    struct channel_waiter {
        request_info request;
        upstream_response response;
        plan_callback done;
    };
    /// One voucher at a time per channel: the merchant accepts exactly the next cumulative
    /// amount, so vouchers signed concurrently would refuse each other.
    struct channel_gate {
        bool busy = false;
        /// The deposit the holder took this channel to make (opening or refilling it), 0 =
        /// none: counted against max_total until the gate is freed, so that concurrent
        /// openings cannot together pass the cap the store would then refuse.
        protocol::uint256 opening;
        std::deque<channel_waiter> waiters;
    };
    /// A merchant's channels as one offer describes them (salts 0..iou.channels-1): each
    /// config and id (an EIP-712 hash), computed once for as long as the offer's terms stay
    /// the same (channel_groups_), not on every voucher.
    struct channel_group {
        std::vector<wallet::batch_channel> channels;
        std::vector<std::string> ids;  ///< 0x + lowercase hex, as the store keys them
        /// Each channel's record as the store creates it (checksummed addresses: a Keccak-256
        /// each), with network, decimals and merchant left for the voucher to fill in.
        std::vector<store::channel> records;
    };
    /// One of the channels kept with a merchant: index (its salt), id, and what the store holds.
    struct channel_slot {
        std::uint32_t index = 0;
        std::string_view id;  ///< into its channel_group's ids, which outlive the slots
        std::optional<store::channel_funds> stored;
    };
    /// Which slot a request got: taken (its gate is now held) or queued behind.
    struct channel_claim {
        std::size_t slot = 0;
        bool taken = false;
    };

    /// The decision. A batch-settlement payment first takes a gate of its merchant's channels
    /// (claim_channel): when none fits now the request is queued with `queue_with` and nullopt
    /// returned, or (no callback: the synchronous call) the caller waits. `held_channel`: the
    /// gate of that channel was handed over already ("" = none); a decision that does not pay
    /// on it frees it.
    std::optional<payment_plan> decide(const request_info& request,
                                       const upstream_response& response,
                                       const plan_callback* queue_with,
                                       const std::string& held_channel);
    /// The channel group `offer` describes for this wallet, from channel_groups_ or made now;
    /// null when the offer does not describe a valid channel (payment_channels.cpp).
    std::shared_ptr<const channel_group> group_of(const protocol::payment_requirements& offer);
    /// What the store holds of each channel of `group`, in salt order.
    std::vector<channel_slot> read_group(const channel_group& group);
    /// Under mutex_: the channel of `group` for a voucher of `price`, in this order: a
    /// quarantined one (any lie stops vouchers to that merchant: the reservation declines),
    /// a free one that covers the price, a free one a deposit may open or refill within the
    /// caps (counting other openings in flight), a queue behind the busy one that covers (or is
    /// being funded) with the fewest waiters, a free one whatever it holds (the reservation
    /// decides), and last the shortest queue. Takes the gate when the result says taken.
    channel_claim claim_channel(const std::vector<channel_slot>& group,
                                const protocol::uint256& price, unsigned decimals);
    /// Frees the gate of `channel_id`, or hands it to the next queued request.
    void release_gate(const std::string& channel_id);
    /// The exact path (payment_exact.cpp): reserve the authorization's value, then sign it.
    payment_plan pay_exact(store::reserve_request facts, const protocol::payment_required& required,
                           const protocol::candidate& best);
    paid_outcome exact_response(std::unique_ptr<pending> p, unsigned status,
                                const header_list& headers);
    paid_outcome exact_failure(std::unique_ptr<pending> p, proxy::delivery delivered,
                               std::string_view why);
    /// The batch-settlement path, with the gate held (payment_voucher.cpp).
    payment_plan pay_by_voucher(store::reserve_request facts,
                                const protocol::payment_required& required,
                                const protocol::candidate& offer,
                                const wallet::batch_channel& channel, const store::channel& record,
                                const std::string& channel_id);
    paid_outcome voucher_response(std::unique_ptr<pending> p, unsigned status,
                                  const header_list& headers);
    paid_outcome voucher_failure(std::unique_ptr<pending> p, proxy::delivery delivered,
                                 std::string_view why);
    /// Which offer to pay: a batch-settlement one when an open channel covers it or a deposit
    /// may open one (and iou.prefer), else the cheapest. For a voucher, sets `channels` to the
    /// merchant's channel group and `group` to its slots as the store holds them.
    const protocol::candidate& choose_offer(const protocol::selection& chosen,
                                            std::shared_ptr<const channel_group>& channels,
                                            std::vector<channel_slot>& group);
    /// Records a decline (one ledger row) and builds the plan that tells the agent why.
    payment_plan decline(const store::reserve_request& facts, store::reason why,
                         std::string_view detail);
    [[nodiscard]] std::uint64_t now() const;
    /// Puts a signed payment in the table until its answer comes; returns its plan's token.
    std::uint64_t hold_pending(std::unique_ptr<pending> p);
    /// Takes the pending payment of `plan` out of the table; null when unknown.
    std::unique_ptr<pending> take_pending(const payment_plan& plan);
    /// A store write after signing: on failure, log loudly and count, never drop silently.
    template <class T>
    void after_signing(const result<T>& written, std::uint64_t reservation_id,
                       std::string_view what);
    void prover_loop();
    /// Counts a plan on its way out: a decline by its reason code.
    payment_plan counted(payment_plan plan);
    /// Counts a row the store has just moved (its new status; its charge when paid).
    void note(const store::ledger_row& row);

    std::shared_ptr<store::store> ledger_;
    std::shared_ptr<wallet::signer> signer_;
    std::string payer_;  ///< signer_'s address, checksummed once (a Keccak-256 per request else)
    std::shared_ptr<const protocol::network_registry> registry_;
    payment_flow_options options_;
    protocol::payment_capabilities capabilities_;

    mutable std::mutex mutex_;
    std::uint64_t next_token_ = 1;
    std::map<std::uint64_t, std::unique_ptr<pending>> pending_;
    std::atomic<std::uint64_t> ledger_errors_after_signing_{0};

    std::map<std::string, channel_gate, std::less<>> gates_;  // under mutex_
    /// Offer terms (network, payTo, asset, extra) -> their channel group. Bounded
    /// (max_channel_groups): merchants choose the terms, so a hostile one could vary them.
    static constexpr std::size_t max_channel_groups = 64;
    bounded_memo<std::shared_ptr<const channel_group>> channel_groups_{max_channel_groups};
    detail::terms_cache terms_;                  // 402 texts parsed once
    std::condition_variable gate_freed_;         // for the synchronous call's wait
    std::unique_ptr<boost::asio::thread_pool> resume_;  // runs queued requests' decisions

    std::mutex prover_mutex_;
    std::condition_variable prover_wake_;
    bool prover_stop_ = false;
    std::thread prover_;
};

/// The proxy's authenticator backed by the store's agents (token hashes, constant-time compare).
class store_authenticator final : public authenticator {
public:
    explicit store_authenticator(std::shared_ptr<store::store> agents);
    identity authenticate(std::string_view name, std::string_view token) override;

private:
    std::shared_ptr<store::store> agents_;
};

}  // namespace purser::proxy
