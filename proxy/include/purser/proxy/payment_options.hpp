// The `payment` section of the configuration, parsed and validated by the payment flow that owns
// it (the proxy's config loader passes it through as a JSON object).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "purser/protocol/networks.hpp"
#include "purser/protocol/result.hpp"
#include "purser/proxy/payment_flow.hpp"

namespace purser::proxy {

/// What the section says: the flow's options, and the JSON-RPC endpoints the caller turns into
/// the flow's authorization_oracle (the flow itself speaks no JSON-RPC).
struct payment_section {
    /// max_window_seconds, networks, proof_interval_ms, skew_margin_seconds, prefer, iou; the
    /// rest (oracle, testnet, clock) is the caller's.
    payment_flow_options flow;
    /// payment.rpc: CAIP-2 network id -> endpoint URL (not yet parsed).
    std::map<std::string, std::string> rpc;
};

/// Parses the section:
///   {"max_window_seconds": N, "networks": ["base", ...], "rpc": {"<network>": "<url>"},
///    "proof_interval_ms": N, "skew_margin_seconds": N, "prefer": "iou" | "exact",
///    "iou": {"deposit": "1.00", "max_channel": "5", "max_total": "20", "channels": 4}}
/// IOU amounts are token units as decimal strings (never JSON numbers: money is not floating
/// point). Errors: protocol::errc::wrong_type or invalid_value, the detail naming the key in
/// full ("payment.iou.max_channel: ..."; "payment.colour: unknown key").
[[nodiscard]] result<payment_section> parse_payment_section(
    const nlohmann::json& section, const protocol::network_registry& registry);

}  // namespace purser::proxy
