// One local x402 world for an end-to-end test: the testnet (chain, facilitator, merchants) and
// the proxy, started from the real purser binary on 127.0.0.1 with random ports, plus helpers to
// add agents, read balances from the chain and read the ledger through the CLI.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "purser/protocol/uint256.hpp"
#include "test_support.hpp"

namespace purser::test {

class world {
public:
    /// `prepare`, when given, runs on the testnet's directory before the testnet starts (to
    /// write its merchant configuration, say).
    explicit world(const std::function<void(const std::filesystem::path&)>& prepare = {});

    /// Starts `purser proxy` with the testnet's funded payer keystore and CA; extra flags appended.
    void start_proxy(const std::vector<std::string>& extra = {});
    /// Stops the proxy with SIGTERM and returns its exit status.
    int stop_proxy();
    /// Kills the proxy with SIGKILL (a crash) and returns its exit status.
    int kill_proxy();

    /// `purser agent add NAME args...`; returns the agent's token.
    std::string add_agent(const std::string& name, const std::vector<std::string>& args = {});
    /// Runs the purser binary with this world's environment.
    run_result purser(const std::vector<std::string>& args) const;

    /// Writes `token` to a file of mode 0600 in this world's directory, for
    /// `--admin-token-file`; returns its path.
    std::string write_admin_token(const std::string& token) const;

    /// "http://NAME:TOKEN@127.0.0.1:PORT"
    std::string proxy_url(const std::string& agent, const std::string& token) const;
    /// curl through the proxy as `agent`; `args` end with the URL.
    http_reply via_proxy(const std::string& agent, const std::string& token,
                         const std::vector<std::string>& args) const;

    /// Token balance of `address` on the testnet chain (eth_call balanceOf over JSON-RPC).
    protocol::uint256 balance(const std::string& address) const;
    /// The balance once it has not moved for `quiet` (merchants have settled what they received,
    /// say after a crash); at most a minute.
    protocol::uint256 settled_balance(const std::string& address, std::chrono::milliseconds quiet) const;
    /// The escrow's record of an IOU channel (eth_call channels(bytes32)): balance, totalClaimed.
    std::pair<protocol::uint256, protocol::uint256> escrow(const std::string& channel_id) const;
    /// The payment the merchant asks for `url` (amount of its first offer), read unpaid.
    protocol::uint256 price_of(const std::string& url, const std::vector<std::string>& curl_args = {}) const;
    /// Ledger rows of `agent` as JSON objects (purser ledger --format json).
    std::vector<nlohmann::json> ledger(const std::string& agent) const;

    const std::string& env(const std::string& key) const { return testnet_env_.at(key); }
    std::string payer() const { return "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"; }
    const std::string& proxy_address() const { return proxy_address_; }
    /// The admin listener's address ("" when started with --admin-listen off).
    const std::string& admin_address() const { return admin_address_; }
    const std::filesystem::path& dir() const { return dir_.path(); }
    env_map base_env() const { return env_; }
    /// Sets a variable for every process started from now on (the proxy, the CLI).
    void set_env(const std::string& key, const std::string& value) { env_[key] = value; }
    std::string ca_file() const { return (dir_.path() / "home" / "ca" / "ca.crt").string(); }
    std::string proxy_output() const { return proxy_ ? proxy_->output() : ""; }
    /// The proxy's JSON-lines access log (`--log`).
    std::filesystem::path access_log() const { return dir_.path() / "logs" / "requests.jsonl"; }

private:
    temp_dir dir_;
    env_map env_;
    env_map testnet_env_;
    std::unique_ptr<process> testnet_;
    std::unique_ptr<process> proxy_;
    std::string proxy_address_;
    std::string admin_address_;
};

}  // namespace purser::test
