// Fleet ledger rows as the fleet tests ship them: a $0.001 payment of "bot" at a status.
#pragma once

#include <cstdint>
#include <string>

#include "purser/fleet/ledger.hpp"

namespace purser::test {

// 2026-12-02T12:00:00Z in ms.
inline constexpr std::uint64_t noon_ms = 1'796'212'800'000;

/// Row `id` at its `version`, decided at `at_ms` + id; paid, reserved and in-doubt rows count
/// their $0.001 against the agent.
inline purser::fleet::ledger_entry entry(std::uint64_t id, std::uint64_t version, std::string status,
                                        std::string agent = "bot", std::uint64_t at_ms = noon_ms) {
    purser::fleet::ledger_entry e;
    e.row_id = id;
    e.version = version;
    e.at_ms = at_ms + id;
    e.updated_ms = at_ms + id + version;
    e.agent = std::move(agent);
    e.host = "api.example.com";
    e.method = "GET";
    e.url = "https://api.example.com/v1/weather";
    e.scheme = "exact";
    e.network = "eip155:84532";
    e.asset = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    e.amount_atomic = "1000";
    e.amount_micros = 1000;
    e.status = std::move(status);
    if (e.status == "paid") {
        e.charged_micros = 1000;
        e.counted_micros = 1000;
        e.tx_hash = "0x" + std::string(64, 'a');
    } else if (e.status == "reserved" || e.status == "in_doubt") {
        e.counted_micros = 1000;
    }
    return e;
}

}  // namespace purser::test
