// Errors of the wallet library: keys, keystores and signing. Details never carry secrets.
#pragma once

#include <system_error>

namespace purser::wallet {

enum class errc {
    bad_key = 1,         ///< Not 32 bytes, not hex, zero, or not below the secp256k1 order.
    wrong_password,      ///< The keystore MAC does not match: wrong password (or a corrupt file).
    bad_keystore,        ///< The keystore is not Web3 Secret Storage v3 JSON we can read.
    unsupported_kdf,     ///< A KDF, PRF or cipher other than scrypt/pbkdf2-hmac-sha256/aes-128-ctr.
    signing_failed,      ///< libsecp256k1 or the CSPRNG refused to produce a signature.
    bad_signature,       ///< Not 65 bytes, v not 27/28, high s, or no key recovers from it.
    io_error,            ///< A keystore file could not be read, written, synced or renamed.
    unsupported_offer,   ///< The offer is not a scheme/network/asset this signer can sign.
    rng_failed,          ///< OpenSSL's CSPRNG did not deliver random bytes.
    already_exists,      ///< Refusing to overwrite an existing keystore file.
    harden_failed,       ///< Core dumps or ptrace could not be turned off before a secret loads.
};

[[nodiscard]] const std::error_category& wallet_category() noexcept;
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace purser::wallet

template <>
struct std::is_error_code_enum<purser::wallet::errc> : std::true_type {};
