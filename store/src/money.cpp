#include "purser/store/money.hpp"

#include "civil_date.hpp"
#include "purser/store/errc.hpp"

namespace purser::store {
namespace {

using detail::civil_from_days;
using detail::days_from_civil;
using detail::ms_per_day;

constexpr std::uint64_t pow10(unsigned n) {
    std::uint64_t v = 1;
    for (unsigned i = 0; i < n; ++i) v *= 10;
    return v;
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
    unsigned day_of_month = 0;
    civil_from_days(static_cast<std::int64_t>(utc_day(unix_ms)), y, m, day_of_month);
    return static_cast<std::uint32_t>((y - 1970) * 12 + static_cast<std::int64_t>(m) - 1);
}

std::uint64_t utc_month_start_ms(std::uint64_t unix_ms) noexcept {
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned day_of_month = 0;
    civil_from_days(static_cast<std::int64_t>(utc_day(unix_ms)), y, m, day_of_month);
    return static_cast<std::uint64_t>(days_from_civil(y, m, 1) * ms_per_day);
}

}  // namespace purser::store
