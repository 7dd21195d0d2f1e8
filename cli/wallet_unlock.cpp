#include "wallet_unlock.hpp"

#include <openssl/crypto.h>

#include "config_resolver.hpp"
#include "purser/wallet/harden.hpp"
#include "purser/wallet/keystore.hpp"

namespace purser::cli {

secret_string::~secret_string() {
    // Wipe the whole capacity: the characters may sit anywhere in it after edits.
    value_.resize(value_.capacity());
    OPENSSL_cleanse(value_.data(), value_.size());
}

result<std::unique_ptr<secret_string>> wallet_password(const proxy::config& cfg, bool confirm) {
    const auto from = cfg.origin.find("wallet_password_file");
    PURSER_TRY(pw, read_wallet_password(cfg.wallet_password_file, confirm,
                                        from == cfg.origin.end() ? "" : from->second));
    auto out = std::make_unique<secret_string>(std::move(pw));
    return out;
}

result<wallet::private_key> decrypt_keystore(const std::filesystem::path& file,
                                             const std::string& password) {
    if (auto h = wallet::harden_process_for_secrets(); !h) return tl::unexpected(h.error());
    return wallet::read_keystore(file, password);
}

result<wallet::private_key> unlock_key(const options& opts) {
    PURSER_TRY(cfg, resolve_config(opts));
    const auto& path = cfg->keystore;
    PURSER_TRY(pw, wallet_password(*cfg));
    auto key = decrypt_keystore(path, pw->get());
    if (!key) {
        auto e = key.error();
        e.detail = path.string() + ": " + e.detail;
        return tl::unexpected(std::move(e));
    }
    return std::move(*key);
}

}  // namespace purser::cli
