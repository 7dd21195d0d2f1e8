// What the proxy counts for Prometheus (`GET /metrics` on the admin listener).
//
// Two kinds of counting, with two costs. Every request touches only relaxed atomics
// (requests by outcome, the upstream latency histogram): no lock on the hot path. Payment steps
// (declines, settled amounts, payment outcomes) already wait for an LMDB commit, so their
// counters, whose labels come from the ledger row (agent, asset, network), sit behind one mutex.
// Money is counted exactly: paid amounts are uint256 sums of what the ledger row says was
// charged, rendered as decimal integers, never through a double.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "purser/protocol/uint256.hpp"

namespace purser::proxy {

/// How one agent request ended, as `purser_requests_total{outcome}` names it.
enum class request_outcome : std::uint8_t {
    forwarded,          ///< The origin's answer went to the agent (a 402 that was not x402 too).
    paid,               ///< Paid, and the paid retry's answer went to the agent.
    declined,           ///< A 402 the payment flow declined (Purser-Decision: declined).
    payment_unsettled,  ///< Signed, but not settled: failed, in doubt or released.
    unauthorized,       ///< 407: missing or wrong proxy credentials.
    refused,            ///< The proxy refused the request itself (400, 431, 501).
    upstream_error,     ///< 502 or 504 from the proxy: the origin could not be reached in time.
    tunnel,             ///< A CONNECT tunnelled as bytes (one per tunnel).
    aborted,            ///< The agent went away before an answer.
};
inline constexpr std::size_t request_outcome_count = 9;
[[nodiscard]] std::string_view to_string(request_outcome o) noexcept;

/// A latency histogram in seconds with fixed buckets (5 ms to 30 s). Observing is a few relaxed
/// atomic adds; the sum is kept in integer microseconds so concurrent adds never lose a bit.
class latency_histogram {
public:
    /// Upper bounds of the buckets, in microseconds (the `le` labels, in seconds, follow).
    static constexpr std::array<std::uint64_t, 12> bounds_us = {
        5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000,
        1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000};

    void observe(std::chrono::nanoseconds d) noexcept;

    struct snapshot {
        std::array<std::uint64_t, bounds_us.size() + 1> counts{};  ///< Per bucket (not
                                                                    ///< cumulative); last = +Inf.
        std::uint64_t sum_us = 0;
    };
    [[nodiscard]] snapshot read() const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, bounds_us.size() + 1> counts_{};
    std::atomic<std::uint64_t> sum_us_{0};
};

/// An amount in flight (signed, not settled) for one asset on one network, read from the store
/// when /metrics is asked for.
struct in_flight_sample {
    std::string asset;
    std::string network;
    protocol::uint256 amount_atomic;
};

/// The counters of one proxy process. Thread-safe.
class metrics {
public:
    /// Hot path: one relaxed atomic add.
    void count_request(request_outcome o) noexcept;
    /// Hot path: how long the origin took from the start of the connection (or the reuse of a
    /// pooled one) to the response head.
    void observe_upstream(std::chrono::nanoseconds d) noexcept { upstream_.observe(d); }
    /// A paid retry's round trip: from the signature leaving with the retry to its answer.
    void observe_payment(std::chrono::nanoseconds d) noexcept { payment_.observe(d); }

    /// A decline the agent saw, by reason code (store::to_string(reason), or store_unavailable).
    void count_decline(std::string_view reason);
    /// A signed payment reached `status` (paid, failed, in_doubt, released, expired) under
    /// `scheme` ("exact", "batch-settlement"): one count per status change this process made.
    void count_payment(std::string_view scheme, std::string_view status);
    /// A payment settled: `amount_atomic` (what the ledger row counts as charged) is added to
    /// purser_paid_atomic_total{agent,asset,network}. Saturates rather than wraps (a sum past
    /// 2^256 atomic units is not a real run).
    void add_paid(std::string_view agent, std::string_view asset, std::string_view network,
                  const protocol::uint256& amount_atomic);

    /// Fleet budgets (proxy::fleet_leases, after each of its passes): whether the fleet database
    /// answered, and each budget's lease remaining in this store. Never set: not rendered.
    void set_fleet(bool database_up, std::map<std::string, std::uint64_t> remaining_micros);
    /// The Prometheus text exposition format (version 0.0.4) of every metric, with `in_flight`
    /// as the purser_in_flight_atomic gauge. Label values are escaped (\\, \", \n) and invalid
    /// UTF-8 in them becomes U+FFFD, so a merchant's bytes cannot break a line or the parser.
    [[nodiscard]] std::string render(const std::vector<in_flight_sample>& in_flight) const;

private:
    std::array<std::atomic<std::uint64_t>, request_outcome_count> requests_{};
    latency_histogram upstream_;
    latency_histogram payment_;

    mutable std::mutex mutex_;  // payment steps only
    std::map<std::string, std::uint64_t, std::less<>> declines_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> payments_;
    std::map<std::tuple<std::string, std::string, std::string>, protocol::uint256> paid_;
    bool fleet_set_ = false;
    bool fleet_up_ = false;
    std::map<std::string, std::uint64_t> fleet_remaining_;
};

namespace detail {
/// A label value as the text format writes it between quotes: `\` -> `\\`, `"` -> `\"`, LF ->
/// `\n`, and each byte that is not part of valid UTF-8 -> U+FFFD.
[[nodiscard]] std::string escape_label_value(std::string_view text);
}  // namespace detail

}  // namespace purser::proxy
