// Web3 Secret Storage v3 keystores (geth, ethers): read scrypt/pbkdf2 files, write scrypt files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "purser/protocol/address.hpp"
#include "purser/protocol/result.hpp"
#include "purser/wallet/keys.hpp"

namespace purser::wallet {

/// scrypt cost for new keystores. The default is geth's "standard" (about 1 s and 256 MiB);
/// tests pass a light n to stay fast.
struct scrypt_params {
    std::uint64_t n = 262144;  ///< Power of two, 2..2^20.
    std::uint32_t r = 8;
    std::uint32_t p = 1;
};

/// Decrypts keystore JSON text with `password`. Both "crypto" and "Crypto" are accepted;
/// kdf scrypt or pbkdf2 (prf hmac-sha256), cipher aes-128-ctr. The MAC
/// keccak256(dk[16..32] || ciphertext) is compared in constant time before decrypting; when the
/// file has an address, the decrypted key must match it.
/// Errors: bad_keystore (malformed, or key/address mismatch), unsupported_kdf,
/// wrong_password (MAC mismatch).
[[nodiscard]] result<private_key> decrypt_keystore(std::string_view json_text,
                                                   std::string_view password);

/// Encrypts `key` into keystore v3 JSON text: scrypt with `params`, fresh random salt (32 B)
/// and iv (16 B), uuid v4 id, lowercase address without 0x.
/// Errors: unsupported_kdf (bad params), rng_failed.
[[nodiscard]] result<std::string> encrypt_keystore(const private_key& key,
                                                   std::string_view password,
                                                   const scrypt_params& params = {});

/// Reads and decrypts a keystore file (at most 64 KiB).
/// Errors: io_error, and those of decrypt_keystore.
[[nodiscard]] result<private_key> read_keystore(const std::filesystem::path& file,
                                                std::string_view password);

/// Encrypts `key` and writes it atomically: a 0600 temporary file in the same directory,
/// fsync, rename over `file`, fsync of the directory. Creates missing parent directories
/// (0700). Refuses to replace an existing file unless `overwrite`.
/// Errors: already_exists, io_error, and those of encrypt_keystore.
[[nodiscard]] result<void> write_keystore(const std::filesystem::path& file,
                                          const private_key& key, std::string_view password,
                                          const scrypt_params& params = {},
                                          bool overwrite = false);

/// The address recorded in a keystore file, without decrypting it (so without a password).
/// Errors: io_error, bad_keystore (no or malformed address field).
[[nodiscard]] result<protocol::address> keystore_address(const std::filesystem::path& file);

}  // namespace purser::wallet
