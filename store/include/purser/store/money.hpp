// USD amounts (integers at 6 decimals) and UTC calendar buckets for the store's counters.
#pragma once

#include <cstdint>

#include "purser/protocol/result.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::store {

/// Micro-USD: 1 USD = 1'000'000. Caps, counters and allowances are all in this unit.
using usd_micros = std::uint64_t;
inline constexpr unsigned usd_decimals = 6;

/// The largest single amount the store counts: about 9.2 trillion USD. Larger amounts are
/// declined as above any per-request limit rather than risking counter overflow.
inline constexpr usd_micros max_countable_usd_micros = (std::uint64_t{1} << 63) - 1;

/// Atomic units of a USD-pegged token with `decimals` decimals -> micro-USD, rounded UP when the
/// amount is not a whole number of micro-USD (18-decimal dust counts as 1 micro-USD), so spend is
/// never under-counted. Errors: invalid_argument (decimals > 77), overflow (above
/// max_countable_usd_micros).
[[nodiscard]] result<usd_micros> to_usd_micros(const protocol::uint256& amount_atomic,
                                               unsigned decimals);

/// Days since 1970-01-01 (UTC) of a unix time in milliseconds.
[[nodiscard]] std::uint32_t utc_day(std::uint64_t unix_ms) noexcept;
/// Months since January 1970 (UTC) of a unix time in milliseconds: year * 12 + month - 1 - 23640.
[[nodiscard]] std::uint32_t utc_month(std::uint64_t unix_ms) noexcept;
/// Unix ms of 00:00 UTC on the first day of the month containing `unix_ms`.
[[nodiscard]] std::uint64_t utc_month_start_ms(std::uint64_t unix_ms) noexcept;

}  // namespace purser::store
