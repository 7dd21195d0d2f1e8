// testnet.env, the file `purser testnet up` writes for shells and for Purser itself: one
// `export KEY='value'` line per setting (single-quoted, ' written as '\'').
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "purser/protocol/result.hpp"

namespace purser::testnet {

/// Every KEY of `file` with its unquoted value. Lines that are not `export KEY=...` are
/// ignored. Errors: unavailable (the file cannot be read), naming the path.
[[nodiscard]] result<std::map<std::string, std::string>> read_env_file(
    const std::filesystem::path& file);

}  // namespace purser::testnet
