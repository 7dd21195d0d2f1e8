// Unsigned 256-bit integers for token amounts: every operation is checked, nothing wraps.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/result.hpp"

namespace purser::protocol {

/// A uint256 as four 64-bit limbs, least significant first. Money in Purser is always one of
/// these (or a narrower checked integer), in atomic units of its token; never floating point.
class uint256 {
public:
    constexpr uint256() = default;
    constexpr explicit uint256(std::uint64_t v) : limbs_{v, 0, 0, 0} {}

    /// The largest value, 2^256 - 1.
    [[nodiscard]] static constexpr uint256 max() {
        uint256 r;
        r.limbs_ = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
        return r;
    }

    /// Parses a plain decimal string: digits only, no sign, point, exponent, spaces or leading
    /// '+'. Leading zeros are accepted ("007" is 7); at most 78 digits.
    /// Errors: invalid_decimal, overflow (above 2^256 - 1).
    [[nodiscard]] static result<uint256> from_decimal(std::string_view text);

    /// From up to 32 big-endian bytes. Errors: overflow (more than 32 significant bytes).
    [[nodiscard]] static result<uint256> from_be_bytes(byte_view data);

    /// Shortest decimal form ("0" for zero).
    [[nodiscard]] std::string to_decimal() const;
    /// 32 big-endian bytes, as ABI and EIP-712 encode uint256.
    [[nodiscard]] bytes32 to_be_bytes() const;

    /// Checked arithmetic. Errors: overflow, underflow (sub).
    [[nodiscard]] result<uint256> add(const uint256& o) const;
    [[nodiscard]] result<uint256> sub(const uint256& o) const;
    [[nodiscard]] result<uint256> mul(const uint256& o) const;
    /// Quotient and remainder by a non-zero 64-bit divisor (precondition: d != 0).
    [[nodiscard]] uint256 div_small(std::uint64_t d, std::uint64_t* remainder = nullptr) const;

    [[nodiscard]] bool is_zero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
    /// Number of significant bits (0 for zero).
    [[nodiscard]] unsigned bit_width() const;
    /// True when the value fits in an unsigned integer of `bits` bits (e.g. 64, 128).
    [[nodiscard]] bool fits_bits(unsigned bits) const { return bit_width() <= bits; }
    /// The low 64 bits; use only after fits_bits(64).
    [[nodiscard]] std::uint64_t low64() const { return limbs_[0]; }

    friend bool operator==(const uint256&, const uint256&) = default;
    friend std::strong_ordering operator<=>(const uint256& a, const uint256& b);

private:
    std::array<std::uint64_t, 4> limbs_{};
};

}  // namespace purser::protocol
