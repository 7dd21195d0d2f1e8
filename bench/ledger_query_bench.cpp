// Builds a 100,000-row ledger and times a one-day, one-agent query through the agent index,
// against a full scan of the same rows as the in-run peer. Target: under 50 ms.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "purser/store/store.hpp"

namespace st = purser::store;

namespace {

constexpr int total_rows = 100'000;
constexpr int agent_count = 20;
constexpr std::uint64_t day_ms = 86'400'000;
constexpr std::uint64_t start_ms = 1'793'491'200'000ULL;  // 2026-11-01T00:00:00Z
constexpr int days = 30;

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

template <class F>
double best_of(int runs, F&& f) {
    double best = 1e300;
    for (int i = 0; i < runs; ++i) {
        const auto t = std::chrono::steady_clock::now();
        f();
        const double ms = ms_since(t);
        best = ms < best ? ms : best;
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    // tmpfs when available: the build phase commits 100,000 durable transactions, and the
    // benchmark measures reads, not the disk's fsync latency.
    std::filesystem::path base = argc > 1 ? argv[1]
                                 : std::filesystem::exists("/dev/shm") ? "/dev/shm"
                                                                       : std::filesystem::temp_directory_path();
    const auto dir = base / ("purser-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);

    std::uint64_t now = start_ms;
    st::open_options options;
    options.clock = [&now] { return now; };
    auto opened = st::store::open(dir, options);
    if (!opened) {
        std::fprintf(stderr, "open: %s\n", opened.error().message().c_str());
        return 1;
    }
    auto& s = **opened;
    for (int a = 0; a < agent_count; ++a) {
        if (!s.add_agent("agent-" + std::to_string(a), {})) return 1;
    }
    const std::uint32_t seed = 4021;
    std::mt19937 rng(seed);
    const auto build_start = std::chrono::steady_clock::now();
    const std::uint64_t step = days * day_ms / total_rows;
    for (int i = 0; i < total_rows; ++i) {
        now = start_ms + static_cast<std::uint64_t>(i) * step + rng() % step;
        st::reserve_request q;
        q.agent = "agent-" + std::to_string(rng() % agent_count);
        q.method = "GET";
        q.host = "api" + std::to_string(rng() % 50) + ".example.com";
        q.url = "https://" + q.host + "/v1/items/" + std::to_string(i);
        q.scheme = "exact";
        q.network = "eip155:8453";
        q.asset = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
        q.asset_decimals = 6;
        q.usd_pegged = true;
        q.amount_atomic = purser::protocol::uint256(1000 + rng() % 100'000);
        q.pay_to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        q.nonce = std::to_string(i);
        auto d = s.reserve(q);
        if (!d) {
            std::fprintf(stderr, "reserve: %s\n", d.error().message().c_str());
            return 1;
        }
        if (d->approved && !s.commit(d->reservation_id, {"0x" + std::to_string(i), {}, 200, 40})) {
            return 1;
        }
    }
    const double build_ms = ms_since(build_start);

    st::ledger_query q;
    q.agent = "agent-7";
    q.since_ms = start_ms + 14 * day_ms;
    q.until_ms = start_ms + 15 * day_ms;
    std::size_t indexed_rows = 0;
    std::size_t scan_rows = 0;
    const double indexed_ms = best_of(7, [&] { indexed_rows = s.list_ledger(q)->size(); });
    const double scan_ms = best_of(3, [&] { scan_rows = s.list_ledger_full_scan(q)->size(); });

    std::printf("ledger query benchmark (seed %u)\n", seed);
    std::printf("  rows in ledger:            %d over %d days, %d agents (built in %.0f ms)\n",
                total_rows, days, agent_count, build_ms);
    std::printf("  one agent, one day:        %zu rows\n", indexed_rows);
    std::printf("  indexed query (best of 7): %.3f ms   target < 50 ms: %s\n", indexed_ms,
                indexed_ms < 50.0 ? "met" : "MISSED");
    std::printf("  full scan (best of 3):     %.3f ms   (same %zu rows)\n", scan_ms, scan_rows);
    std::printf("  speed-up over full scan:   %.1fx\n", scan_ms / indexed_ms);
    if (indexed_rows != scan_rows) {
        std::printf("  MISMATCH: index and scan disagree\n");
    }
    opened->reset();
    std::filesystem::remove_all(dir);
    return indexed_rows == scan_rows ? 0 : 1;
}
