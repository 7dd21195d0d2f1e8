// The x402 payment flow: the payment_hook that turns a merchant's 402 into a reserved, signed,
// replayed and recorded payment. It owns no money logic of its own: the store decides, the
// wallet signs, the protocol library parses; this file sequences them and keeps the invariants.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "purser/protocol/networks.hpp"
#include "purser/proxy/authenticator.hpp"
#include "purser/proxy/payment_hook.hpp"
#include "purser/store/ledger.hpp"
#include "purser/store/reason.hpp"

namespace purser::store {
class store;
}
namespace purser::wallet {
class signer;
}

namespace purser::proxy {

struct payment_flow_options {
    /// Never sign an authorization that stays valid longer than this (merchants choose
    /// maxTimeoutSeconds; a day-long authorization is a day of exposure).
    std::uint64_t max_window_seconds = 300;
    /// Networks the wallet pays on (CAIP-2 ids or v1 names); empty = every known EVM network.
    std::set<std::string> networks;
    /// Unix seconds; tests inject a fixed clock.
    std::function<std::uint64_t()> now_seconds;
};

/// The payment_hook backed by a store and a signer. Thread-safe.
///
/// One payment moves through these states, each reached by exactly one event, each but the
/// first leaving its mark in the ledger:
///   402 received -> not x402 (passed through untouched, nothing recorded)
///                 | declined (one declined row; nothing signed)
///                 | reserved (counted, durable) -> signed (the header leaves with the retry)
///   signed -> paid (receipt says settled) | failed (merchant refused; held until expiry)
///           | in_doubt (no proof either way) | released (the retry was never sent)
class payment_flow final : public payment_hook {
public:
    /// `signer` may be null: every x402 402 is then declined `wallet_locked` (and recorded).
    payment_flow(std::shared_ptr<store::store> ledger, std::shared_ptr<wallet::signer> signer,
                 std::shared_ptr<const protocol::network_registry> registry,
                 payment_flow_options options = {});
    ~payment_flow() override;

    payment_plan on_payment_required(const request_info& request,
                                     const upstream_response& response) override;
    paid_outcome on_paid_response(const payment_plan& plan, const request_info& request,
                                  unsigned status, const header_list& headers) override;
    void on_paid_failure(const payment_plan& plan, const request_info& request,
                         std::string_view why) override;

    /// Payments signed and sent whose retry has not been answered yet.
    [[nodiscard]] std::size_t in_progress() const;

    struct pending;  ///< One payment between its signature and its final state.

private:
    /// Records a decline (one ledger row) and builds the plan that tells the agent why.
    payment_plan decline(const store::reserve_request& facts, store::reason why,
                         std::string_view detail);
    [[nodiscard]] std::uint64_t now() const;

    std::shared_ptr<store::store> ledger_;
    std::shared_ptr<wallet::signer> signer_;
    std::shared_ptr<const protocol::network_registry> registry_;
    payment_flow_options options_;

    mutable std::mutex mutex_;
    std::uint64_t next_token_ = 1;
    std::map<std::uint64_t, std::unique_ptr<pending>> pending_;
};

/// The proxy's authenticator backed by the store's agents (token hashes, constant-time compare).
class store_authenticator final : public authenticator {
public:
    explicit store_authenticator(std::shared_ptr<store::store> agents);
    std::optional<std::string> authenticate(std::string_view name,
                                            std::string_view token) override;

private:
    std::shared_ptr<store::store> agents_;
};

}  // namespace purser::proxy
