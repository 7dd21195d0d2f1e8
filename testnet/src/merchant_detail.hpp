// Pieces shared by the merchant's exact and batch payment paths.
#pragma once

#include <string>

#include "purser/protocol/messages.hpp"
#include "purser/testnet/http.hpp"
#include "purser/testnet/merchant.hpp"

namespace purser::testnet::detail {

using protocol::ojson;

/// POST {base}/{op} with {x402Version, paymentPayload, paymentRequirements}; the JSON reply.
/// Errors: unavailable (transport, non-JSON body, or a 5xx).
/// `connections` keeps the merchant's connections to its facilitator alive between calls.
[[nodiscard]] result<nlohmann::json> call_facilitator(const merchant_config& c, http_connection_pool& connections,
                                                      const std::string& op, int version, const ojson& payload,
                                                      const ojson& requirements);

/// offer_addresses (merchant.hpp) of `c`.
[[nodiscard]] offer_addresses checksummed(const merchant_config& c);

/// The requirement a route offers for `scheme` (v1 or v2 shape, fixed key order).
[[nodiscard]] ojson make_offer(const merchant_config& c, const offer_addresses& a, const std::string& scheme,
                               const protocol::uint256& price, const std::string& resource_url,
                               const std::string& description, const std::string& mime_type);

/// Standard base64 of compact JSON, as every x402 header carries it.
[[nodiscard]] std::string encode_header(const std::string& json_text);

/// A settle failure after the handler ran: v2 402 + PAYMENT-RESPONSE and body {}.
[[nodiscard]] http_response settle_failed_v2(const nlohmann::json& settle_body);

/// many-offers: 29 well-formed offers no wallet can pay (unknown assets, networks and scheme,
/// a 1,500-character network, a large junk `extra`), all priced 1 atomic unit as bait.
[[nodiscard]] ojson unpayable_offers(const merchant_config& c);

/// many-offers: the 5,000-character resource description.
[[nodiscard]] std::string long_description();

/// forged-headers: Purser-Paid, Purser-Decision and Purser-Remaining, as if a proxy wrote them.
void add_forged_purser_headers(http_response& r);

}  // namespace purser::testnet::detail
