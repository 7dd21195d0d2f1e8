#include "purser/store/text.hpp"

#include <cstdio>

#include "purser/protocol/amount.hpp"
#include "civil_date.hpp"
#include "purser/store/errc.hpp"

namespace purser::store {
namespace {

using detail::civil_from_days;
using detail::days_from_civil;
using detail::ms_per_day;


/// Exactly `n` digits at text[pos..]; -1 when not digits.
int digits(std::string_view text, std::size_t pos, std::size_t n) {
    if (pos + n > text.size()) return -1;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (text[i] < '0' || text[i] > '9') return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

}  // namespace

result<usd_micros> parse_usd(std::string_view text) {
    PURSER_TRY(v, protocol::parse_units(text, usd_decimals));
    if (!v.fits_bits(63)) return fail(errc::overflow, "USD amount '" + std::string(text) + "'");
    return v.low64();
}

std::string format_usd(usd_micros amount) {
    return protocol::format_units(protocol::uint256(amount), usd_decimals);
}

std::string bounded_text(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return std::string(text);
    // Room for the marker, whose digits depend on how much is cut.
    std::size_t keep = max_bytes > 32 ? max_bytes - 32 : 0;
    // Back up over UTF-8 continuation bytes so a multi-byte character is not split.
    while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
    return std::string(text.substr(0, keep)) + "...[cut " + std::to_string(text.size() - keep) +
           " bytes]";
}

std::string printable(std::string_view text, bool keep_line_breaks) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        // U+0080..U+009F (C1 controls, CSI among them) arrive as 0xC2 0x80..0x9F.
        const bool c1 = c == 0xC2 && i + 1 < text.size() &&
                        static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                        static_cast<unsigned char>(text[i + 1]) <= 0x9F;
        const bool line_break = c == '\r' || c == '\n' || c == '\t';
        if ((c < 0x20 && !(keep_line_breaks && line_break)) || c == 0x7F || c1) {
            const unsigned v = c1 ? static_cast<unsigned char>(text[++i]) : c;
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", v);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

std::string iso8601_utc(std::uint64_t unix_ms) {
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(static_cast<std::int64_t>(unix_ms / static_cast<std::uint64_t>(ms_per_day)), y,
                    m, d);
    const std::uint64_t in_day = unix_ms % static_cast<std::uint64_t>(ms_per_day);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
                  static_cast<long long>(y), m, d, static_cast<unsigned>(in_day / 3'600'000),
                  static_cast<unsigned>(in_day / 60'000 % 60),
                  static_cast<unsigned>(in_day / 1000 % 60), static_cast<unsigned>(in_day % 1000));
    return buf;
}

std::string utc_date(std::uint64_t unix_ms) { return iso8601_utc(unix_ms).substr(0, 10); }

result<std::uint64_t> parse_time(std::string_view text, std::uint64_t now_ms) {
    const auto bad = [&] {
        return fail(errc::invalid_argument,
                    "time '" + std::string(text) +
                        "': use a duration (90s, 15m, 24h, 30d) or a UTC date/time "
                        "(2026-11-23, 2026-11-23T13:00:00Z)");
    };
    if (text.empty()) return bad();
    const char unit = text.back();
    if (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
        const std::string_view number = text.substr(0, text.size() - 1);
        if (number.empty() || number.size() > 9) return bad();
        std::uint64_t n = 0;
        for (char c : number) {
            if (c < '0' || c > '9') return bad();
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        const std::uint64_t scale = unit == 's' ? 1000 : unit == 'm' ? 60'000
                                  : unit == 'h' ? 3'600'000 : 86'400'000;
        const std::uint64_t back = n * scale;  // n < 10^9, scale < 10^8: fits
        return back >= now_ms ? 0 : now_ms - back;
    }
    // YYYY-MM-DD[THH:MM[:SS]][Z]
    const int y = digits(text, 0, 4);
    if (y < 1970 || text.size() < 10 || text[4] != '-' || text[7] != '-') return bad();
    const int mo = digits(text, 5, 2);
    const int d = digits(text, 8, 2);
    if (mo < 1 || mo > 12 || d < 1 ||
        static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo))) {
        return bad();
    }
    int h = 0, mi = 0, s = 0;
    std::string_view rest = text.substr(10);
    if (!rest.empty()) {
        if (rest[0] != 'T' && rest[0] != ' ') return bad();
        h = digits(rest, 1, 2);
        if (h < 0 || h > 23 || rest.size() < 6 || rest[3] != ':') return bad();
        mi = digits(rest, 4, 2);
        if (mi < 0 || mi > 59) return bad();
        rest = rest.substr(6);
        if (!rest.empty() && rest[0] == ':') {
            s = digits(rest, 1, 2);
            if (s < 0 || s > 59) return bad();
            rest = rest.substr(3);
        }
        if (rest == "Z") rest = {};
        if (!rest.empty()) return bad();
    }
    const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return static_cast<std::uint64_t>(days * ms_per_day + h * 3'600'000LL + mi * 60'000LL +
                                      s * 1000LL);
}

}  // namespace purser::store
