// Agents: who may spend through the proxy, and under which policy.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "purser/store/money.hpp"

namespace purser::store {

/// An agent's spending policy. Every limit is optional: unset means "no limit of this kind".
/// Amounts are micro-USD; periods are UTC (calendar day, calendar month).
struct policy {
    std::optional<usd_micros> per_request;  ///< Max for one payment.
    std::optional<usd_micros> daily;        ///< Max spend per UTC day.
    std::optional<usd_micros> monthly;      ///< Max spend per UTC calendar month.
    std::optional<usd_micros> lifetime;     ///< Max spend ever.
    std::optional<usd_micros> in_flight;    ///< Max value signed but not yet settled.
    std::optional<std::uint32_t> payments_per_minute;  ///< Max approvals in any 60 s window.
    /// Host patterns (protocol::valid_host_pattern): "*" (every host), "api.example.com" or an
    /// address in any spelling ("127.1" is 127.0.0.1) matched exactly after canonicalising, or
    /// "*.example.com" (any subdomain, not the apex). Deny wins; a non-empty allow list admits
    /// only matching hosts.
    std::vector<std::string> allow_hosts;
    std::vector<std::string> deny_hosts;
    /// Networks as the offer names them (CAIP-2 "eip155:8453" or v1 "base"); empty = any.
    std::vector<std::string> allow_networks;
    /// Token addresses (case-insensitive) or symbols ("USDC"); empty = any USD-pegged asset.
    std::vector<std::string> allow_assets;

    friend bool operator==(const policy&, const policy&) = default;
};

/// An agent as stored. The proxy token itself is never stored, only its SHA-256.
struct agent {
    std::uint64_t id = 0;            ///< Stable, assigned at creation (ledger indexes use it).
    std::string name;                ///< [A-Za-z0-9._-]{1,64}: it appears in proxy URLs.
    bool frozen = false;
    policy limits;
    /// Prepaid allowance left; nullopt = unlimited. Each payment decrements it; 0 declines.
    std::optional<usd_micros> allowance;
    std::uint64_t created_ms = 0;    ///< Unix ms.
    std::array<std::uint8_t, 32> token_sha256{};
};

/// What `purser agent show` prints besides the policy: live counters, exact.
struct agent_usage {
    usd_micros spent_today = 0;      ///< Current UTC day, pending + paid.
    usd_micros spent_month = 0;      ///< Current UTC calendar month.
    usd_micros spent_lifetime = 0;
    usd_micros in_flight = 0;        ///< Reserved, failed-not-expired and in-doubt.
    std::optional<usd_micros> allowance;  ///< As agent::allowance.
};

/// add_agent / rotate_token: the agent and its new token (64 hex chars), to show exactly once.
struct agent_credentials {
    agent who;
    std::string token;
};

/// True for [A-Za-z0-9._-]{1,64}.
[[nodiscard]] bool valid_agent_name(std::string_view name) noexcept;
/// True for a pattern protocol::valid_host_pattern accepts: "*", a host, or "*.suffix".
[[nodiscard]] bool valid_host_pattern(std::string_view pattern);
/// protocol::host_pattern_matches after canonicalising `host` here, so a caller's spelling
/// ("2130706433", "LOCALHOST.") cannot slip past a pattern; a host that protocol::canonical_host
/// refuses matches nothing.
[[nodiscard]] bool host_matches(std::string_view pattern, std::string_view host);
/// Whether `limits` admits `host` (any spelling): no deny pattern matches and, when there is an
/// allow list, an allow pattern does. A host protocol::canonical_host refuses ("256.1.1.1") is
/// never admitted: the store cannot tell which destination it names.
[[nodiscard]] bool host_allowed(const policy& limits, std::string_view host);
/// The host as the ledger records it: canonical when it is one, else the text in lower case
/// (a decline for that host still leaves its row).
[[nodiscard]] std::string ledger_host(std::string_view host);

}  // namespace purser::store
