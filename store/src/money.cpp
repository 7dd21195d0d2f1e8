#include "purser/store/money.hpp"

#include "purser/store/errc.hpp"

namespace purser::store {
namespace {

constexpr std::uint64_t pow10(unsigned n) {
    std::uint64_t v = 1;
    for (unsigned i = 0; i < n; ++i) v *= 10;
    return v;
}

constexpr std::int64_t ms_per_day = 86'400'000;

// Howard Hinnant's civil_from_days: days since 1970-01-01 -> (year, month 1..12).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

result<usd_micros> to_usd_micros(const protocol::uint256& amount_atomic, unsigned decimals) {
    if (decimals > 77) return fail(errc::invalid_argument, "asset decimals above 77");
    protocol::uint256 v = amount_atomic;
    if (decimals <= usd_decimals) {
        auto scaled = v.mul(protocol::uint256(pow10(usd_decimals - decimals)));
        if (!scaled) return fail(errc::overflow, "amount does not fit in micro-USD");
        v = *scaled;
    } else {
        // Divide by 10^(decimals - 6) in chunks that fit a 64-bit divisor, remembering whether
        // anything was cut off: a remainder means round up, never under-count.
        unsigned left = decimals - usd_decimals;
        bool inexact = false;
        while (left > 0) {
            const unsigned step = left > 19 ? 19 : left;
            std::uint64_t rem = 0;
            v = v.div_small(pow10(step), &rem);
            inexact = inexact || rem != 0;
            left -= step;
        }
        if (inexact) {
            auto up = v.add(protocol::uint256(1));
            if (!up) return fail(errc::overflow, "amount does not fit in micro-USD");
            v = *up;
        }
    }
    if (!v.fits_bits(63)) return fail(errc::overflow, "amount does not fit in micro-USD");
    return v.low64();
}

std::uint32_t utc_day(std::uint64_t unix_ms) noexcept {
    return static_cast<std::uint32_t>(unix_ms / static_cast<std::uint64_t>(ms_per_day));
}

std::uint32_t utc_month(std::uint64_t unix_ms) noexcept {
    std::int64_t y = 0;
    unsigned m = 0;
    civil_from_days(static_cast<std::int64_t>(utc_day(unix_ms)), y, m);
    return static_cast<std::uint32_t>((y - 1970) * 12 + static_cast<std::int64_t>(m) - 1);
}

std::uint64_t utc_month_start_ms(std::uint64_t unix_ms) noexcept {
    std::int64_t y = 0;
    unsigned m = 0;
    civil_from_days(static_cast<std::int64_t>(utc_day(unix_ms)), y, m);
    return static_cast<std::uint64_t>(days_from_civil(y, m, 1) * ms_per_day);
}

}  // namespace purser::store
