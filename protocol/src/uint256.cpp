#include "purser/protocol/uint256.hpp"

#include <algorithm>

#include "purser/protocol/errc.hpp"

namespace purser::protocol {

// GCC and Clang provide a 128-bit type on 64-bit targets; it makes carries exact and cheap.
__extension__ using u128 = unsigned __int128;

result<uint256> uint256::from_decimal(std::string_view text) {
    if (text.empty()) return fail(errc::invalid_decimal, "empty number");
    if (text.size() > 78) {
        // 2^256-1 has 78 digits; allow longer only if the excess is leading zeros.
        std::size_t first = text.find_first_not_of('0');
        if (first != std::string_view::npos && text.size() - first > 78) {
            return fail(errc::overflow, "more than 78 digits");
        }
    }
    uint256 out;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return fail(errc::invalid_decimal,
                        std::string("unexpected character '") + c + "' in \"" +
                            std::string(text.substr(0, 80)) + "\"");
        }
        PURSER_TRY(times10, out.mul(uint256(10)));
        PURSER_TRY(sum, times10.add(uint256(static_cast<std::uint64_t>(c - '0'))));
        out = sum;
    }
    return out;
}

result<uint256> uint256::from_be_bytes(byte_view data) {
    std::size_t first = 0;
    while (first < data.size() && data[first] == 0) ++first;
    if (data.size() - first > 32) return fail(errc::overflow, "more than 32 significant bytes");
    uint256 out;
    std::size_t n = data.size();
    for (std::size_t i = 0; i < n - first; ++i) {
        std::uint8_t b = data[n - 1 - i];
        out.limbs_[i / 8] |= std::uint64_t{b} << (8 * (i % 8));
    }
    return out;
}

std::string uint256::to_decimal() const {
    if (is_zero()) return "0";
    std::string out;
    uint256 v = *this;
    while (!v.is_zero()) {
        std::uint64_t rem = 0;
        v = v.div_small(10'000'000'000'000'000'000ULL, &rem);
        for (int i = 0; i < 19; ++i) {
            out.push_back(static_cast<char>('0' + rem % 10));
            rem /= 10;
            if (v.is_zero() && rem == 0) break;
        }
    }
    while (out.size() > 1 && out.back() == '0') out.pop_back();
    std::reverse(out.begin(), out.end());
    return out;
}

bytes32 uint256::to_be_bytes() const {
    bytes32 out{};
    for (std::size_t i = 0; i < 32; ++i) {
        out[31 - i] = static_cast<std::uint8_t>(limbs_[i / 8] >> (8 * (i % 8)));
    }
    return out;
}

result<uint256> uint256::add(const uint256& o) const {
    uint256 r;
    std::uint64_t carry = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        u128 s = u128{limbs_[i]} + o.limbs_[i] + carry;
        r.limbs_[i] = static_cast<std::uint64_t>(s);
        carry = static_cast<std::uint64_t>(s >> 64);
    }
    if (carry != 0) return fail(errc::overflow, "uint256 addition overflows");
    return r;
}

result<uint256> uint256::sub(const uint256& o) const {
    if (*this < o) return fail(errc::underflow, "uint256 subtraction below zero");
    uint256 r;
    std::uint64_t borrow = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        u128 d = u128{limbs_[i]} - o.limbs_[i] - borrow;
        r.limbs_[i] = static_cast<std::uint64_t>(d);
        borrow = (d >> 64) != 0 ? 1 : 0;
    }
    return r;
}

result<uint256> uint256::mul(const uint256& o) const {
    std::array<std::uint64_t, 8> wide{};
    for (std::size_t i = 0; i < 4; ++i) {
        std::uint64_t carry = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            u128 p = u128{limbs_[i]} * o.limbs_[j] + wide[i + j] + carry;
            wide[i + j] = static_cast<std::uint64_t>(p);
            carry = static_cast<std::uint64_t>(p >> 64);
        }
        wide[i + 4] = carry;
    }
    for (std::size_t k = 4; k < 8; ++k) {
        if (wide[k] != 0) return fail(errc::overflow, "uint256 multiplication overflows");
    }
    uint256 r;
    std::copy(wide.begin(), wide.begin() + 4, r.limbs_.begin());
    return r;
}

uint256 uint256::div_small(std::uint64_t d, std::uint64_t* remainder) const {
    uint256 q;
    u128 rem = 0;
    for (std::size_t i = 4; i-- > 0;) {
        u128 cur = (rem << 64) | limbs_[i];
        q.limbs_[i] = static_cast<std::uint64_t>(cur / d);
        rem = cur % d;
    }
    if (remainder != nullptr) *remainder = static_cast<std::uint64_t>(rem);
    return q;
}

unsigned uint256::bit_width() const {
    for (std::size_t i = 4; i-- > 0;) {
        if (limbs_[i] != 0) {
            return static_cast<unsigned>(i * 64 + 64 - static_cast<std::size_t>(__builtin_clzll(limbs_[i])));
        }
    }
    return 0;
}

std::strong_ordering operator<=>(const uint256& a, const uint256& b) {
    for (std::size_t i = 4; i-- > 0;) {
        if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] <=> b.limbs_[i];
    }
    return std::strong_ordering::equal;
}

}  // namespace purser::protocol
