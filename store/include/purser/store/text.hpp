// Text forms the CLI and logs use for store values: USD amounts, times, periods.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "purser/protocol/result.hpp"
#include "purser/store/money.hpp"

namespace purser::store {

/// "5", "0.10", "1000.000001" -> micro-USD (exact; no sign, exponent or separators).
/// Errors: protocol invalid_decimal / too_many_decimals (more than 6 places), store overflow
/// (above max_countable_usd_micros).
[[nodiscard]] result<usd_micros> parse_usd(std::string_view text);
/// Micro-USD -> shortest exact decimal: 100000 -> "0.1", 5000000 -> "5".
[[nodiscard]] std::string format_usd(usd_micros amount);

/// `text` if it fits in `max_bytes`, else its first bytes (never splitting a UTF-8 sequence) and
/// "...[cut N bytes]" so that the whole stays within `max_bytes` (max_bytes >= 32).
[[nodiscard]] std::string bounded_text(std::string_view text, std::size_t max_bytes);

/// Merchant text made safe for a terminal: every control character (C0, DEL, and the C1 range
/// when it appears as UTF-8) is shown as "\xNN", so an escape sequence from a merchant cannot
/// move the cursor, recolour or rewrite what `purser ledger` prints. Printable UTF-8 stays.
/// With `keep_line_breaks`, CR, LF and TAB stay (CSV quotes them; they move no cursor sideways
/// into other fields).
[[nodiscard]] std::string printable(std::string_view text, bool keep_line_breaks = false);

/// Unix ms -> "2026-11-23T13:36:07.123Z" (ISO-8601, UTC, milliseconds).
[[nodiscard]] std::string iso8601_utc(std::uint64_t unix_ms);
/// Unix ms -> "2026-11-23".
[[nodiscard]] std::string utc_date(std::uint64_t unix_ms);

/// A point in time for --since/--until: a duration back from `now_ms` ("90s", "15m", "24h",
/// "30d"), a UTC date ("2026-11-23"), or a UTC time ("2026-11-23T13:00:00Z", seconds and the
/// "Z" optional, fractional seconds not accepted). Errors: invalid_argument naming the text.
[[nodiscard]] result<std::uint64_t> parse_time(std::string_view text, std::uint64_t now_ms);

}  // namespace purser::store
