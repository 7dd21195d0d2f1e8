// x402 messages, versions 1 and 2: parse strictly, keep the raw JSON so echoes are verbatim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "purser/protocol/result.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::protocol {

/// ordered_json keeps key order, so re-serialising a received object gives the same bytes.
using ojson = nlohmann::ordered_json;

/// Size limits applied before parsing (x402.md §10.12: headers of several KB are normal).
inline constexpr std::size_t max_header_bytes = 64 * 1024;
inline constexpr std::size_t max_body_bytes = 1024 * 1024;

/// Parses untrusted JSON as every parser here does: `limit` bytes at most, nesting at most 64
/// levels deep (checked by a cheap scan before nlohmann's recursive parser runs). `what` names the
/// input in error details. Errors: too_large, invalid_json.
[[nodiscard]] result<ojson> parse_untrusted_json(std::string_view text, std::size_t limit,
                                                 std::string_view what = "input");

/// One entry of `accepts`, checked and typed, with the received object kept in `raw`.
struct payment_requirements {
    int x402_version = 2;
    std::string scheme;
    std::string network;          ///< As on the wire: a v1 name or a CAIP-2 id.
    uint256 amount;               ///< v2 `amount`, v1 `maxAmountRequired`, atomic units.
    std::string asset;            ///< As on the wire (an EVM address for the schemes we pay).
    std::string pay_to;           ///< As on the wire.
    std::uint64_t max_timeout_seconds = 0;
    ojson extra;                  ///< Object, or null when absent/null.
    // v1 only (empty for v2):
    std::string resource;
    std::string description;
    std::string mime_type;
    ojson raw;                    ///< The object exactly as received: v2 echoes it as `accepted`.
};

/// v2 ResourceInfo; `raw` is echoed verbatim as the payload's `resource`.
struct resource_info {
    std::string url;
    std::string description;
    std::string mime_type;
    ojson raw;
};

/// A 402's terms: the v1 JSON body or the v2 PAYMENT-REQUIRED header, normalised.
struct payment_required {
    int x402_version = 2;
    std::string error;
    std::optional<resource_info> resource;  ///< v2 only.
    std::vector<payment_requirements> accepts;
    ojson extensions;                       ///< v2 only; null when absent.
    ojson raw;
};

/// Parses payment-required JSON text of either version (v1 body, or decoded v2 header).
/// Errors (detail names the field, e.g. "accepts[0].amount"): invalid_json, too_large,
/// unsupported_version, missing_field, wrong_type, invalid_value, invalid_decimal, overflow,
/// empty_accepts, invalid_address (payTo/asset of eip155 networks).
[[nodiscard]] result<payment_required> parse_payment_required(std::string_view json_text);

/// Decodes a v2 PAYMENT-REQUIRED header value (base64 of JSON); must be x402Version 2.
[[nodiscard]] result<payment_required> decode_payment_required_header(std::string_view value);

/// How a client reads a 402 (x402HTTPClient.getPaymentRequiredResponse): the PAYMENT-REQUIRED
/// header wins when present; otherwise a v1 JSON body; a v2 body without the header is refused.
[[nodiscard]] result<payment_required> read_payment_required(
    std::optional<std::string_view> payment_required_header, std::string_view body);

/// What the client sends back. v1: {x402Version, scheme, network, payload}.
/// v2: {x402Version, payload, extensions?, resource?, accepted} in that order (official client).
struct payment_payload {
    int x402_version = 2;
    std::string scheme;   ///< v1 top-level; for v2 taken from accepted.scheme.
    std::string network;  ///< v1 top-level; for v2 taken from accepted.network.
    ojson payload;        ///< Scheme data, e.g. {authorization, signature}.
    ojson accepted;       ///< v2: the chosen accepts[i], verbatim.
    ojson resource;       ///< v2: the 402's resource, verbatim; null to omit.
    ojson extensions;     ///< v2: null to omit.
    ojson raw;            ///< Set when parsed.
};

/// Builds a v2 payload that echoes `offer.raw` and `required.resource`/`extensions` verbatim.
/// For a v1 `required` it builds the v1 payload instead ({x402Version:1, scheme, network,
/// payload}), since the client answers in the version of the 402 it received.
[[nodiscard]] payment_payload make_payment_payload(const payment_required& required,
                                                   const payment_requirements& offer,
                                                   ojson scheme_payload);

/// Compact JSON in the official client's key order.
[[nodiscard]] std::string serialize(const payment_payload& p);
/// The header value: standard base64 with padding of serialize(p).
[[nodiscard]] std::string encode_payment_header(const payment_payload& p);
/// "X-PAYMENT" for v1, "PAYMENT-SIGNATURE" for v2.
[[nodiscard]] std::string_view payment_header_name(int x402_version);

/// Decodes an X-PAYMENT / PAYMENT-SIGNATURE value. Errors: invalid_base64, invalid_json,
/// too_large, unsupported_version, missing_field, wrong_type.
[[nodiscard]] result<payment_payload> decode_payment_header(std::string_view value);
[[nodiscard]] result<payment_payload> parse_payment_payload(std::string_view json_text);

/// SettleResponse: body of PAYMENT-RESPONSE / X-PAYMENT-RESPONSE and of facilitator /settle.
struct settle_response {
    bool success = false;
    std::string error_reason;
    std::string error_message;
    std::string payer;
    std::string transaction;  ///< "" on failure or for a voucher-only batch payment.
    std::string network;
    std::optional<uint256> amount;
    ojson extensions;
    ojson extra;              ///< batch-settlement: chargedAmount, channelState.
    ojson raw;
};
[[nodiscard]] result<settle_response> parse_settle_response(std::string_view json_text);
[[nodiscard]] result<settle_response> decode_settle_response_header(std::string_view value);
/// Compact JSON: success, errorReason?, errorMessage?, payer?, transaction, network, amount?,
/// extensions?, extra? (omitting empty optionals).
[[nodiscard]] std::string serialize(const settle_response& r);
[[nodiscard]] std::string encode_settle_response_header(const settle_response& r);

/// VerifyResponse from facilitator /verify.
struct verify_response {
    bool is_valid = false;
    std::string invalid_reason;
    std::string invalid_message;
    std::string payer;
    ojson extra;
    ojson raw;
};
[[nodiscard]] result<verify_response> parse_verify_response(std::string_view json_text);
[[nodiscard]] std::string serialize(const verify_response& r);

}  // namespace purser::protocol
