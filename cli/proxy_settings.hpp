// What the CLI's commands read from the proxy's configuration, resolved exactly as `purser proxy`
// resolves it: the store they open and the address they print. One resolver, so that with a
// customised `store_dir` a `purser agent freeze` reaches the store the running proxy reads.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "options.hpp"
#include "purser/protocol/result.hpp"
#include "purser/proxy/config.hpp"
#include "purser/store/store.hpp"

namespace purser::cli {

/// The config file: --config FILE, else PURSER_CONFIG, else none.
[[nodiscard]] std::optional<std::filesystem::path> config_file(const options& o);

/// The proxy configuration as far as the CLI needs it: the config file, the PURSER_* variables
/// of the options in `keys` (only those: the proxy's other settings are not this command's
/// business, and a sidecar's PURSER_DEFAULT_AGENT must not make `ledger` fail), and the flags of
/// `keys` this command was given. Errors: as proxy::load_config, naming the option.
[[nodiscard]] result<std::shared_ptr<const proxy::config>> proxy_settings(
    const options& o, std::initializer_list<const char*> keys);

/// The store the proxy uses (store_dir of the resolved configuration; PURSER_HOME/store by
/// default), opened.
[[nodiscard]] result<std::unique_ptr<store::store>> open_proxy_store(const options& o);

}  // namespace purser::cli
