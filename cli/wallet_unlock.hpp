// Opening the wallet for a command: password from the environment or a prompt, never a flag.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "options.hpp"
#include "purser/proxy/config.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::cli {

/// A password string that is wiped when it goes away.
class secret_string {
public:
    explicit secret_string(std::string&& s) : value_(std::move(s)) {}
    secret_string(const secret_string&) = delete;
    secret_string& operator=(const secret_string&) = delete;
    ~secret_string();
    [[nodiscard]] const std::string& get() const { return value_; }

private:
    std::string value_;
};

/// The wallet password (read_wallet_password with cfg.wallet_password_file), wrapped so it is
/// wiped after use. The proxy and every wallet command read it this one way.
[[nodiscard]] result<std::unique_ptr<secret_string>> wallet_password(const proxy::config& cfg,
                                                                     bool confirm = false);

/// The one way the CLI decrypts a keystore (unlock_key, the proxy, wallet import): first
/// wallet::harden_process_for_secrets(), so no core dump or unprivileged debugger can read the
/// key afterwards, then wallet::read_keystore. Errors: harden_failed, and read_keystore's.
[[nodiscard]] result<wallet::private_key> decrypt_keystore(const std::filesystem::path& file,
                                                           const std::string& password);

/// Decrypts the keystore of the resolved configuration (--keystore, PURSER_KEYSTORE, the config
/// file's `keystore`, PURSER_HOME/keystore.json) with its wallet password.
[[nodiscard]] result<wallet::private_key> unlock_key(const options& opts);

}  // namespace purser::cli
