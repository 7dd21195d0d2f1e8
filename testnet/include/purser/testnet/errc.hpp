// Errors of the testnet library: chain rules that reject a transaction, and bad requests.
#pragma once

#include <system_error>

namespace purser::testnet {

enum class errc {
    storage = 1,                  ///< LMDB failed (open, read, write, map full).
    invalid_signature,            ///< Not 65 bytes, bad v, high s, or recovers to the wrong signer.
    authorization_not_yet_valid,  ///< now <= validAfter.
    authorization_expired,        ///< now >= validBefore.
    authorization_used,           ///< The (authorizer, nonce) pair was used or canceled.
    insufficient_balance,         ///< The sender has less than the amount.
    caller_not_payee,             ///< receiveWithAuthorization called by someone other than `to`.
    wrong_token,                  ///< A channel or call names a token this chain does not have.
    channel_not_found,            ///< No channel with a positive balance.
    claim_out_of_range,           ///< Claim above the voucher, above the balance, or below claimed.
    refund_nonce_mismatch,        ///< Refund nonce is not the channel's current refundNonce.
    not_authorized,               ///< The caller may not do this to this channel.
    withdraw_not_ready,           ///< No withdrawal pending, or its delay has not elapsed.
    withdraw_exceeds_available,   ///< initiateWithdraw above balance - totalClaimed.
    nothing_to_settle,            ///< settle with no claimed-but-unsettled funds.
    invalid_request,              ///< Malformed input (bad field, zero address, out-of-range).
    overflow,                     ///< A sum would not fit its type.
    unavailable,                  ///< A server or peer did not answer as expected.
};

[[nodiscard]] const std::error_category& testnet_category() noexcept;
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace purser::testnet

template <>
struct std::is_error_code_enum<purser::testnet::errc> : std::true_type {};
