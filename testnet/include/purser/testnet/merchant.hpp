// Demo paid APIs configured by JSON: x402 v1 or v2 over HTTP or HTTPS, verifying and settling
// through a facilitator over HTTP before answering (x402.md §1).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "purser/protocol/address.hpp"
#include "purser/protocol/bounded_memo.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/uint256.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/testnet/http.hpp"
#include "purser/testnet/merchant_lie.hpp"

namespace purser::testnet {

struct merchant_route {
    std::string method = "GET";
    std::string path;                    ///< Exact match, e.g. "/weather".
    std::string handler;                 ///< weather | echo | stream | premium | metered | free
    std::string description;
    std::optional<protocol::uint256> price;  ///< Atomic units; none = free.
    std::vector<std::string> schemes;    ///< In offer order: "exact", "batch-settlement".
    merchant_lie lie = merchant_lie::none;          ///< Hostile routes only (v2, exact).
    std::optional<std::uint64_t> max_timeout_seconds;  ///< Overrides the merchant's for this route.
    std::uint64_t stall_ms = 30'000;     ///< settle-then-stall: how long to wait before the 200.
};

struct merchant_config {
    int x402_version = 2;
    protocol::address pay_to;
    protocol::address asset;
    std::string facilitator_url;         ///< Base URL, e.g. http://127.0.0.1:8402
    protocol::address receiver_authorizer;
    std::uint64_t withdraw_delay = 900;
    /// How long the chain's channel state from the facilitator's last answer is trusted to check
    /// an EOA-signed voucher here, with no facilitator call (the official server's
    /// `onchainStateTtlMs`); none = its default, clamp(withdraw_delay / 3, 30 s, 5 min); 0 = ask
    /// the facilitator every time.
    std::optional<std::uint64_t> onchain_state_ttl_ms;
    std::uint64_t max_timeout_seconds = 300;
    std::uint64_t stream_events = 5;
    std::uint64_t stream_interval_ms = 400;
    std::vector<merchant_route> routes;
};

/// The default routes: /weather, /echo, /stream, /premium, /metered (v2 only: batch-settlement
/// and exact), /free. Addresses and facilitator are left for the caller to fill.
[[nodiscard]] nlohmann::json default_merchant_json(int x402_version);

/// The hostile merchant (issue 10): v2, one GET route per lie at /lie/<lie name>, each 0.10 USDC
/// (100000 atomic) with exact; /lie/settle-then-500 has maxTimeoutSeconds 8. Addresses and
/// facilitator are left for the caller to fill.
[[nodiscard]] nlohmann::json default_hostile_merchant_json();

/// Parses {x402Version, payTo, asset, facilitator, receiverAuthorizer, withdrawDelay,
/// onchainStateTtlMs, maxTimeoutSeconds, routes:[{method, path, handler, description, price, schemes, lie, maxTimeoutSeconds,
/// stallMs}]}.
/// Errors: invalid_request naming the field.
[[nodiscard]] result<merchant_config> merchant_config_from_json(const nlohmann::json& j);

namespace detail {
/// A merchant's configured addresses as its offers spell them (EIP-55): a Keccak-256 each, so
/// computed once per merchant, not for every offer of every 402.
struct offer_addresses {
    std::string asset;
    std::string pay_to;
    std::string receiver_authorizer;
};
}  // namespace detail

class merchant {
public:
    explicit merchant(merchant_config config);
    [[nodiscard]] http_response handle(const http_request& req);
    [[nodiscard]] http_handler http();
    /// Claims every channel's latest voucher up to what was charged, then settles the
    /// receiver's claimed funds (two facilitator /settle calls). Returns the settle response
    /// (`success:false`, `invalid_batch_settlement_evm_nothing_to_settle` when nothing was claimed).
    [[nodiscard]] result<nlohmann::json> settle_batches();
    /// `POST` here runs settle_batches() and answers its result as JSON (502 {error} when the
    /// claim fails); every merchant has it, outside the configured routes.
    static constexpr const char* settle_batches_path = "/testnet/settle-batches";
    [[nodiscard]] const merchant_config& config() const { return config_; }

    /// Server-side state of one batch-settlement channel (x402 batch EVM spec, "Per-Channel State").
    struct channel_record {
        nlohmann::json config;           ///< channelConfig as the client sent it.
        protocol::uint256 charged;       ///< chargedCumulativeAmount
        protocol::uint256 signed_max;    ///< latest voucher's maxClaimableAmount
        std::string signature;           ///< latest voucher signature
        protocol::uint256 claimed;       ///< on-chain totalClaimed after our last claim
        nlohmann::json snapshot;         ///< the facilitator's last channel state (corrective 402s)
        /// When `snapshot` last came from the chain (a facilitator answer); none = never.
        std::optional<std::chrono::steady_clock::time_point> onchain_synced_at;
    };

private:
    http_response paid(const http_request& req, const merchant_route& route);
    protocol::ojson requirements(const http_request& req, const merchant_route& route) const;
    http_response challenge(const http_request& req, const merchant_route& route, const std::string& error,
                            const protocol::ojson& accepts_override = {}) const;
    http_response run_handler(const http_request& req, const merchant_route& route) const;
    /// After a real settlement: the route's lie instead of the honest 200 + receipt.
    http_response lie_after_settle(const http_request& req, const merchant_route& route,
                                   http_response response, nlohmann::json receipt) const;
    /// payto-switch: a paid retry gets new terms paying someone else, and nothing settles.
    http_response switched_terms(const http_request& req, const merchant_route& route) const;
    http_response settle_batches_http(const http_request& req);
    http_response batch_payment(const http_request& req, const merchant_route& route,
                                const protocol::ojson& payload, const protocol::ojson& offer);

    /// Whether `cfg` hashes to channel `id` (lower-case hex of `id_bytes`): from proven_ids_ when
    /// this exact config was proven before, else by hashing it (and remembering a match).
    bool config_hashes_to(const std::string& id, const protocol::channel_config& cfg,
                          const protocol::bytes32& id_bytes);

    merchant_config config_;
    http_connection_pool facilitator_connections_;  ///< kept alive: two calls per payment
    detail::offer_addresses addresses_;  ///< config_'s addresses checksummed (merchant_detail.hpp)
    std::mutex batch_mutex_;             ///< Guards the two maps below (held briefly).
    std::map<std::string, channel_record> channels_;
    /// One lock per channel id, held through a payment on that channel (per-channel ordering).
    std::map<std::string, std::shared_ptr<std::mutex>> channel_locks_;
    /// Channel ids whose config was shown to hash to them (an EIP-712 hash of five addresses,
    /// the delay and the salt): every voucher carries its config, and hashing it again on each
    /// one was a tenth of the merchant's CPU. A config that differs is hashed again.
    bounded_memo<protocol::channel_config> proven_ids_{4096};
};

}  // namespace purser::testnet
