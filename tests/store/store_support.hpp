// Helpers for the store tests: a settable clock, requests, and process plumbing.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "purser/store/store.hpp"
#include "test_support.hpp"

namespace purser::test {

/// 2026-11-23T12:00:00Z: every test that needs a fixed time starts here.
inline constexpr std::uint64_t t0_ms = 1'795'435'200'000ULL;

/// A clock the test moves by hand; copies share the same time.
struct manual_clock {
    std::shared_ptr<std::atomic<std::uint64_t>> now =
        std::make_shared<std::atomic<std::uint64_t>>(t0_ms);
    [[nodiscard]] store::clock_fn fn() const {
        auto p = now;
        return [p] { return p->load(); };
    }
    void advance_ms(std::uint64_t ms) const { now->fetch_add(ms); }
    void set(std::uint64_t ms) const { now->store(ms); }
};

/// The store in `dir`/store on `clock`, with `o`'s other options. Throws when it cannot open.
inline std::unique_ptr<store::store> open_store(const std::filesystem::path& dir,
                                                const manual_clock& clock,
                                                store::open_options o = {}) {
    o.clock = clock.fn();
    return std::move(store::store::open(dir / "store", o).value());
}

/// A USDC (6 decimals, pegged) payment of `micro_usd` to api.example.com.
inline store::reserve_request usdc_request(const std::string& agent, std::uint64_t micro_usd,
                                           std::uint64_t expires_at = 0) {
    store::reserve_request q;
    q.agent = agent;
    q.method = "GET";
    q.url = "https://api.example.com/v1/weather?city=Oslo";
    q.host = "api.example.com";
    q.x402_version = 2;
    q.scheme = "exact";
    q.network = "eip155:31337";
    q.asset = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    q.asset_symbol = "USDC";
    q.asset_decimals = 6;
    q.usd_pegged = true;
    q.amount_atomic = protocol::uint256(micro_usd);
    q.pay_to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    q.nonce = "0x" + std::string(64, '1');
    q.expires_at = expires_at;
    return q;
}

/// Waits for `pid` and returns its exit code (or 128 + signal).
inline int wait_exit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

struct cli_result {
    int code = -1;
    std::string out;
};

/// Runs the purser binary with PURSER_HOME=`home` and the given shell-quoted arguments.
inline cli_result run_cli(const std::string& home, const std::string& args) {
    const std::string cmd = "PURSER_HOME='" + home + "' '" + std::string(PURSER_BIN) + "' " +
                            args + " 2>/dev/null";
    auto r = run_shell(cmd);
    return {r.exit_code, std::move(r.out)};
}

}  // namespace purser::test
