// The JSON-RPC client the chain commands (`wallet balance|fund`, `ledger reconcile`) talk to:
// the CLI's half of chain reads, because only the CLI knows --rpc and PURSER_TESTNET_RPC.
#pragma once

#include <memory>

#include "options.hpp"
#include "purser/chain/json_rpc.hpp"

namespace purser::cli {

/// A client for --rpc URL, else PURSER_TESTNET_RPC, with the library's default timeout.
/// Errors: missing_field when neither is set, invalid_value for a malformed URL.
[[nodiscard]] result<std::unique_ptr<chain::json_rpc_client>> rpc_from_options(const options& opts);

}  // namespace purser::cli
