// Errors of the protocol library: everything that can be wrong with outside x402 input.
#pragma once

#include <system_error>

namespace purser::protocol {

enum class errc {
    invalid_hex = 1,       ///< Not hex digits, odd length, or a missing/unexpected 0x prefix.
    invalid_base64,        ///< Characters outside the alphabet, bad padding or bad length.
    invalid_decimal,       ///< Not a plain decimal integer string (sign, point, exponent, empty).
    overflow,              ///< A number does not fit its type (uint256, uint128, uint64...).
    underflow,             ///< A subtraction would go below zero.
    too_many_decimals,     ///< A token amount has more fractional digits than the token has.
    invalid_json,          ///< Text is not JSON, or JSON nested too deep.
    missing_field,         ///< A required field is absent.
    wrong_type,            ///< A field has the wrong JSON type.
    invalid_value,         ///< A field has the right type but a value the protocol forbids.
    unsupported_version,   ///< An x402Version other than 1 or 2.
    unsupported_scheme,    ///< A payment scheme Purser cannot pay.
    unknown_network,       ///< A network name or CAIP-2 id that is not configured.
    invalid_address,       ///< Not a 20-byte hex address, or a mixed-case address with a bad checksum.
    too_large,             ///< Input is over the size limit for its kind.
    empty_accepts,         ///< A payment-required message offers nothing.
    no_supported_offer,    ///< No offer in `accepts` can be paid by this wallet.
    invalid_typed_data,    ///< EIP-712 types or values that do not fit together.
    invalid_host,          ///< Not a host name or IP address, or numeric text a resolver could
                           ///< read as another address than the policy would (256.1.1.1).
    invalid_url,           ///< Not an http(s) URL or host:port authority Purser accepts.
};

[[nodiscard]] const std::error_category& protocol_category() noexcept;
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace purser::protocol

template <>
struct std::is_error_code_enum<purser::protocol::errc> : std::true_type {};
