// The one configuration every subcommand reads: PURSER_HOME, the config file (--config FILE or
// PURSER_CONFIG), the PURSER_* environment and the command's flags, resolved by
// proxy::load_config (flags > environment > file > defaults). `purser proxy`, `agent`, `ledger`,
// `spend`, `iou`, `wallet` and `ca` all take their paths from here, so with a customised
// `store_dir` a `purser agent freeze` reaches the store the running proxy reads.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "options.hpp"
#include "purser/protocol/result.hpp"
#include "purser/proxy/config.hpp"
#include "purser/store/store.hpp"

namespace purser::cli {

/// PURSER_HOME, or ~/.purser when unset: the base of every default path.
[[nodiscard]] std::filesystem::path purser_home();

/// The config file: --config FILE, else PURSER_CONFIG, else none.
[[nodiscard]] std::optional<std::filesystem::path> config_file(const options& o);

/// What `o`'s command resolves from: the config file, the process environment, those of `o`'s
/// flags that are config keys (`--store-dir`, `--keystore`, `--listen`, ...) and PURSER_HOME.
[[nodiscard]] proxy::config_sources config_sources_of(const options& o);

/// The effective configuration for `o`'s command. Errors: as proxy::load_config, naming the
/// key, variable or flag (an unknown key in the file is one).
[[nodiscard]] result<std::shared_ptr<const proxy::config>> resolve_config(const options& o);

/// The keystore of the resolved configuration (--keystore, PURSER_KEYSTORE, the file's
/// `keystore`, PURSER_HOME/keystore.json).
[[nodiscard]] result<std::filesystem::path> keystore_path(const options& o);

/// The store the proxy uses (store_dir of the resolved configuration), opened.
[[nodiscard]] result<std::unique_ptr<store::store>> open_proxy_store(const options& o);

/// Secrets read straight from the environment and never kept in the configuration; `config
/// show` says whether each is set, never its value. A secret of this kind is one row here.
struct secret_variable {
    const char* key;  ///< Shown name ("wallet_password").
    const char* env;  ///< Its variable ("PURSER_WALLET_PASSWORD").
};
[[nodiscard]] const std::vector<secret_variable>& secret_variables();

/// One line of `purser config show`: a key, its value as JSON (null for a secret or unset),
/// where it came from, and whether it is a secret (then printed as "(set, from SOURCE)").
struct shown_setting {
    std::string key;
    nlohmann::json value;
    std::string source;
    bool secret = false;
};

/// Everything `purser config show` prints for `o`: home, the config file, every key of `cfg`,
/// and each secret variable that is set.
[[nodiscard]] std::vector<shown_setting> effective_settings(const options& o,
                                                            const proxy::config& cfg);

}  // namespace purser::cli
