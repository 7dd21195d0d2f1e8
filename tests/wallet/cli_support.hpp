// Running the purser binary from tests, and a real JSON-RPC server on 127.0.0.1:0 for it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "purser/protocol/uint256.hpp"

namespace purser::test {

struct run_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs PURSER_BIN with `args`. The child gets stdin from /dev/null, an environment without any
/// PURSER_* variable of the caller, PURSER_HOME = `home`, plus `env`.
run_result run_purser(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                      const std::filesystem::path& home);

/// A JSON-RPC 2.0 server over HTTP (Beast) answering eth_chainId, eth_call (balanceOf and
/// decimals of one token) and testnet_mint from an in-memory balance map.
class rpc_server {
public:
    rpc_server(std::uint64_t chain_id, std::string token_address);
    ~rpc_server();
    rpc_server(const rpc_server&) = delete;
    rpc_server& operator=(const rpc_server&) = delete;

    [[nodiscard]] std::string url() const;
    void set_balance(const std::string& address, const protocol::uint256& v);
    [[nodiscard]] protocol::uint256 balance(const std::string& address) const;
    /// After `calls` more balanceOf calls, `address` receives `amount` (an incoming transfer).
    void credit_after(const std::string& address, int calls, const protocol::uint256& amount);
    [[nodiscard]] std::vector<std::string> calls() const;  ///< "method params-json", in order.

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace purser::test
