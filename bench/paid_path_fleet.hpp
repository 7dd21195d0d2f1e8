// The fleet budget scenario of paid_path_bench (issue 14): a proxy whose agent draws on a fleet
// budget in a real PostgreSQL against the same proxy with the agent's local caps only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace purser::bench {

/// Starts a durable PostgreSQL (fleet migrate, one $1,000,000-a-day budget `org`), a proxy with
/// `fleet.budgets {"*": ["org"]}` (default lease bounds, the ledger shipper on) and the same
/// proxy without a fleet section, both with an agent holding the same local caps; measures them
/// in interleaved rounds at 1, 16 and 64 connections and prints the median ratio against the
/// target (0.90). `keystore` is the proxies' --keystore option. False when something failed.
bool compare_fleet_budget(const std::filesystem::path& root, const std::filesystem::path& testnet_env,
                          const std::string& keystore, const std::string& url, pid_t testnet_pid);

}  // namespace purser::bench
