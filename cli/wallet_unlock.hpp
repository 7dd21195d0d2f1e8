// Opening the wallet for a command: password from the environment or a prompt, never a flag.
#pragma once

#include <memory>
#include <string>

#include "options.hpp"
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

/// The wallet password (read_wallet_password), wrapped so it is wiped after use.
[[nodiscard]] result<std::unique_ptr<secret_string>> wallet_password(bool confirm = false);

/// Decrypts the keystore named by --keystore / PURSER_KEYSTORE / PURSER_HOME/keystore.json.
[[nodiscard]] result<wallet::private_key> unlock_key(const options& opts);

}  // namespace purser::cli
