// Private helpers of the x402 message parsers: bounded JSON parsing and typed field readers whose
// errors name the field ("accepts[0].amount: expected a decimal string").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "purser/protocol/messages.hpp"

namespace purser::protocol::detail {

/// nlohmann's parser recurses once per nesting level, so hostile input like "[[[[..." could
/// exhaust the stack; no x402 message comes close to this depth.
inline constexpr std::size_t max_json_depth = 64;

/// Checks size and nesting depth with a cheap scan, then parses. `what` names the input in
/// errors ("body", "PAYMENT-REQUIRED header"). Errors: too_large, invalid_json.
[[nodiscard]] result<ojson> parse_bounded(std::string_view text, std::size_t limit,
                                          std::string_view what);

/// Base64-decodes a header value strictly (standard alphabet, no whitespace) and parses it.
/// Errors: too_large, invalid_base64, invalid_json.
[[nodiscard]] result<ojson> decode_header_json(std::string_view value, std::string_view what);

/// "prefix.key", or "key" when prefix is empty.
[[nodiscard]] std::string field_path(std::string_view prefix, std::string_view key);

/// The member `key` of `obj`, or nullptr when it is absent or null (Go and Python send explicit
/// nulls for optional fields, so null means "not given" everywhere).
[[nodiscard]] const ojson* member(const ojson& obj, std::string_view key);

/// Readers: `prefix` is the path of `obj`; each error detail starts with the field's path.
[[nodiscard]] result<std::string> required_string(const ojson& obj, std::string_view prefix,
                                                  std::string_view key);
[[nodiscard]] result<std::optional<std::string>> optional_string(const ojson& obj,
                                                                 std::string_view prefix,
                                                                 std::string_view key);
[[nodiscard]] result<bool> required_bool(const ojson& obj, std::string_view prefix,
                                         std::string_view key);
/// A decimal string of atomic units (JSON numbers are refused: they lose precision in JS).
[[nodiscard]] result<uint256> decimal_string(const ojson& value, std::string_view path);
[[nodiscard]] result<uint256> required_amount(const ojson& obj, std::string_view prefix,
                                              std::string_view key);
[[nodiscard]] result<std::optional<uint256>> optional_amount(const ojson& obj,
                                                             std::string_view prefix,
                                                             std::string_view key);
/// A JSON integer > 0 that fits 64 bits.
[[nodiscard]] result<std::uint64_t> positive_integer(const ojson& obj, std::string_view prefix,
                                                     std::string_view key);
/// The wrong_type error for a message whose top level is not an object; `what` names it ("root",
/// "402 body"). For `if (!v.is_object()) return not_an_object(v, "root");`.
[[nodiscard]] tl::unexpected<error> not_an_object(const ojson& value, std::string_view what);
/// An object, or null when absent or null. Errors: wrong_type.
[[nodiscard]] result<ojson> optional_object(const ojson& obj, std::string_view prefix,
                                            std::string_view key);
/// A required object. Errors: missing_field, wrong_type.
[[nodiscard]] result<ojson> required_object(const ojson& obj, std::string_view prefix,
                                            std::string_view key);
/// `x402Version`: an integer that is 1 or 2. Errors: missing_field, wrong_type,
/// unsupported_version.
[[nodiscard]] result<int> x402_version(const ojson& root, std::string_view prefix);

/// One `accepts` entry (or a v2 `accepted`) of the given version; `path` prefixes error details.
/// Errors: wrong_type, missing_field, invalid_value, invalid_decimal, overflow, invalid_address.
[[nodiscard]] result<payment_requirements> parse_requirements(const ojson& entry, int version,
                                                              const std::string& path);

/// Compact JSON exactly as JS JSON.stringify writes it for parsed input (raw UTF-8, no spaces).
[[nodiscard]] std::string compact(const ojson& value);

}  // namespace purser::protocol::detail
