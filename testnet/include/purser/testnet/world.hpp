// The whole local x402 world in one object: chain + JSON-RPC, facilitator, v2 and v1 merchants
// and a hostile v2 merchant (issue 10) over HTTP and HTTPS, funded test accounts, and the files clients need (testnet.env, CA,
// keystore, password). `purser testnet up` and the integration tests both start it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "purser/testnet/chain.hpp"
#include "purser/testnet/facilitator.hpp"
#include "purser/testnet/merchant.hpp"

namespace purser::testnet {

struct world_options {
    std::filesystem::path dir;      ///< Holds chain/, ca.pem, keystore.json, testnet.env, ...
    std::uint16_t base_port = 0;    ///< 0: free ports; else rpc P, facilitator P+1, merchant
                                    ///< http P+2, https P+3, v1 http P+4, v1 https P+5,
                                    ///< hostile http P+6, hostile https P+7.
    clock_fn clock = system_seconds;
    /// scrypt N for the payer keystore: light on purpose, it guards a published test key.
    std::uint64_t keystore_scrypt_n = 4096;
};

/// Funding on first start (the chain remembers it): payer 1,000 USDC, poor account 0.0005 USDC.
inline constexpr std::uint64_t payer_funding_atomic = 1'000'000'000;
inline constexpr std::uint64_t poor_funding_atomic = 500;

class world {
public:
    /// Errors: whatever failed first (storage, listen, TLS, keystore), with a detail.
    [[nodiscard]] static result<std::unique_ptr<world>> start(const world_options& options);
    ~world();
    world(const world&) = delete;
    world& operator=(const world&) = delete;
    /// Stops every server (idempotent); the chain stays open until destruction.
    void stop();

    [[nodiscard]] testnet::chain& chain();
    [[nodiscard]] testnet::facilitator& facilitator();
    [[nodiscard]] merchant& merchant_v2();
    [[nodiscard]] merchant& merchant_v1();
    /// Settles for real, then lies, one lie per route (/lie/...; see default_hostile_merchant_json).
    [[nodiscard]] merchant& merchant_hostile();

    [[nodiscard]] std::string rpc_url() const;
    [[nodiscard]] std::string facilitator_url() const;
    [[nodiscard]] std::string merchant_http_url() const;
    [[nodiscard]] std::string merchant_https_url() const;
    [[nodiscard]] std::string merchant_v1_http_url() const;
    [[nodiscard]] std::string merchant_v1_https_url() const;
    [[nodiscard]] std::string merchant_hostile_http_url() const;
    [[nodiscard]] std::string merchant_hostile_https_url() const;
    [[nodiscard]] std::filesystem::path ca_file() const;
    [[nodiscard]] std::filesystem::path keystore_file() const;
    [[nodiscard]] std::filesystem::path password_file() const;
    [[nodiscard]] std::filesystem::path env_file() const;

    struct impl;

private:
    explicit world(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace purser::testnet
