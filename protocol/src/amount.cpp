#include "purser/protocol/amount.hpp"

#include "purser/protocol/errc.hpp"

namespace purser::protocol {

result<uint256> parse_units(std::string_view text, unsigned decimals) {
    if (decimals > 77) return fail(errc::invalid_value, "more than 77 decimals");
    if (text.empty()) return fail(errc::invalid_decimal, "empty amount");
    std::size_t point = text.find('.');
    std::string_view whole = text.substr(0, point);
    std::string_view frac =
        point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
    if (whole.empty() && frac.empty()) return fail(errc::invalid_decimal, "no digits in amount");
    if (frac.find('.') != std::string_view::npos) {
        return fail(errc::invalid_decimal, "more than one decimal point");
    }
    // Trailing zeros past the token's precision are harmless ("1.500000000" USDC).
    while (frac.size() > decimals && frac.back() == '0') frac.remove_suffix(1);
    if (frac.size() > decimals) {
        return fail(errc::too_many_decimals, "\"" + std::string(text.substr(0, 80)) + "\" has more than " +
                                                 std::to_string(decimals) + " decimal places");
    }
    std::string digits(whole.empty() ? "0" : whole);
    digits += frac;
    digits.append(decimals - frac.size(), '0');
    return uint256::from_decimal(digits);
}

std::string format_units(const uint256& atomic, unsigned decimals) {
    std::string digits = atomic.to_decimal();
    if (decimals == 0) return digits;
    if (digits.size() <= decimals) digits.insert(0, decimals - digits.size() + 1, '0');
    std::string whole = digits.substr(0, digits.size() - decimals);
    std::string frac = digits.substr(digits.size() - decimals);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    return frac.empty() ? whole : whole + "." + frac;
}

}  // namespace purser::protocol
