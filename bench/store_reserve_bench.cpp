// Durable reservations per second at 1, 16 and 64 concurrent reserver threads, with group commit
// (open_options::group_commit) against one write transaction per reservation, in the same run on
// the same disk. The disk's fsync is the cost being shared, so the store lives on a real file
// system: by default beside this executable (the build tree), never on tmpfs unless asked.
// Target (issue 18): group commit at least 10x at 64 threads.
// Then the fleet outbox (issue 14): the same grouped reservations with the outbox on (each row
// also queued for the fleet database in its transaction) against off, same run, same disk.
// Then the pages one paid request (reservation and outcome, a transaction each) writes on a
// store that holds five minutes of payments: an agent with a rate limit, whose approvals the
// rate index keeps, against one without, in the same store. And the store's CPU for one
// caller's paid request on the disk against tmpfs: what durability costs on this machine.
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "in_process.hpp"
#include "purser/store/store.hpp"

namespace st = purser::store;
using purser::bench::process_cpu_us;

namespace {

constexpr double run_seconds = 3.0;
constexpr int thread_counts[] = {1, 16, 64};

st::reserve_request request(std::uint64_t micro_usd) {
    st::reserve_request q;
    q.agent = "bench";
    q.method = "GET";
    q.host = "api.example.com";
    q.url = "https://api.example.com/v1/weather?city=Oslo";
    q.x402_version = 2;
    q.scheme = "exact";
    q.network = "eip155:8453";
    q.asset = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
    q.asset_symbol = "USDC";
    q.asset_decimals = 6;
    q.usd_pegged = true;
    q.amount_atomic = purser::protocol::uint256(micro_usd);
    q.pay_to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    q.nonce = "0x" + std::string(64, '1');
    return q;
}

struct outcome {
    double per_second = 0;
    double cpu_us = 0;          ///< the process's CPU (user + system) per reservation
    double ops_per_commit = 0;  ///< reservations per durable commit (1 without group commit)
    bool ok = false;
};

/// `threads` threads reserve on a fresh store for run_seconds; every reservation is approved
/// and checked against the agent's caps in its transaction, as on the paid path.
outcome measure(const std::filesystem::path& dir, int threads, bool group_commit,
                bool outbox = false) {
    std::filesystem::remove_all(dir);
    st::open_options o;
    o.group_commit = group_commit;
    o.outbox = outbox ? st::outbox_mode::on : st::outbox_mode::off;
    auto opened = st::store::open(dir, o);
    if (!opened) {
        std::fprintf(stderr, "open: %s\n", opened.error().message().c_str());
        return {};
    }
    auto& s = **opened;
    st::policy p;
    p.daily = std::uint64_t{1} << 50;  // caps are evaluated, never reached
    p.in_flight = std::uint64_t{1} << 50;
    if (!s.add_agent("bench", p)) return {};

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> done{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> pool;
    const double cpu_before = process_cpu_us();
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const auto q = request(1000 + static_cast<std::uint64_t>(t));
            while (!stop.load(std::memory_order_relaxed)) {
                auto d = s.reserve(q);
                if (!d || !d->approved) {
                    failed = true;
                    return;
                }
                done.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(run_seconds));
    stop = true;
    for (auto& t : pool) t.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu_used = process_cpu_us() - cpu_before;
    if (failed) {
        std::fprintf(stderr, "a reservation failed or was declined\n");
        return {};
    }
    const auto stats = s.stats();
    if (!stats) return {};
    outcome out;
    out.ok = true;
    out.per_second = static_cast<double>(done.load()) / seconds;
    out.cpu_us = cpu_used / static_cast<double>(std::max<std::uint64_t>(done.load(), 1));
    out.ops_per_commit = stats->write_batches == 0
                             ? 1.0
                             : static_cast<double>(stats->batched_operations) /
                                   static_cast<double>(stats->write_batches);
    return out;
}

/// Bytes this process has passed to write(2) and its kin so far (/proc/self/io wchar): LMDB
/// writes its pages with pwrite, so on any file system the delta over a transaction is the pages
/// it wrote (a real disk's write_bytes would miss tmpfs, where the fill below is quick).
double bytes_written() {
    std::ifstream io("/proc/self/io");
    std::string key;
    double value = 0;
    while (io >> key >> value) {
        if (key == "wchar:") return value;
    }
    return 0;
}

struct pages_outcome {
    double free_pages = 0;   ///< per paid request, agent without a rate limit
    double rated_pages = 0;  ///< per paid request, agent with one
    bool ok = false;
};

/// A store filled with `fill` paid requests, one every 2 ms (five minutes at 150,000, all of it
/// inside the rate index's kept span), taken in turn by agent "free" (no rate limit) and agent
/// "rated" (a limit it never reaches); then `rounds` rounds of `per_round` paid requests each,
/// alternating, measured. One transaction per call, as one agent connection makes them. (No CPU
/// is compared: the rated agent's rate check sums its window's entries, 15,000 at this pace.)
pages_outcome measure_pages(const std::filesystem::path& dir, int fill, int rounds, int per_round) {
    std::filesystem::remove_all(dir);
    std::uint64_t now = 1'800'000'000'000;
    st::open_options o;
    o.group_commit = false;
    o.clock = [&now] { return now; };
    auto opened = st::store::open(dir, o);
    if (!opened) return {};
    auto& s = **opened;
    st::policy rated;
    rated.payments_per_minute = 1'000'000'000;
    if (!s.add_agent("free", {}) || !s.add_agent("rated", rated)) return {};
    auto pay = [&](const char* agent) {
        now += 2;
        auto q = request(1000);
        q.agent = agent;
        auto d = s.reserve(q);
        if (!d || !d->approved) return false;
        return s.commit(d->reservation_id, {"0x" + std::string(64, 'a'), {}, 200, 5}).has_value();
    };
    for (int i = 0; i < fill; ++i) {
        if (!pay(i % 2 == 0 ? "free" : "rated")) return {};
    }
    pages_outcome out;
    for (int round = 0; round < rounds; ++round) {
        for (const char* agent : {"free", "rated"}) {
            const double bytes_before = bytes_written();
            for (int i = 0; i < per_round; ++i) {
                if (!pay(agent)) return {};
            }
            (agent[0] == 'f' ? out.free_pages : out.rated_pages) +=
                (bytes_written() - bytes_before) / 4096.0;
        }
    }
    const double n = static_cast<double>(rounds) * per_round;
    out.free_pages /= n;
    out.rated_pages /= n;
    out.ok = s.check_counters().value_or("failed").empty();
    return out;
}

/// One caller's paid request as the proxy makes it with the default options (group commit, one
/// caller): a reservation made durable, then its outcome committed; the process's CPU for each,
/// averaged over `n` paid requests on a fresh store in `dir`. On a disk this includes what the
/// kernel spends on the three flushes (the reservation's data and meta page, the outcome's
/// data); on tmpfs they cost nothing, so the difference is the price of durability here.
struct one_caller_outcome {
    double reserve_us = 0;
    double outcome_us = 0;
    bool ok = false;
};

one_caller_outcome measure_one_caller(const std::filesystem::path& dir, int n) {
    std::filesystem::remove_all(dir);
    auto opened = st::store::open(dir, {});
    if (!opened) return {};
    auto& s = **opened;
    if (!s.add_agent("bench", {})) return {};
    one_caller_outcome out;
    auto q = request(1000);
    for (int i = 0; i < n; ++i) {
        const double before = process_cpu_us();
        auto d = s.reserve(q);
        const double reserved = process_cpu_us();
        if (!d || !d->approved) return {};
        if (!s.commit(d->reservation_id, {"0x" + std::string(64, 'a'), {}, 200, 5})) return {};
        out.reserve_us += reserved - before;
        out.outcome_us += process_cpu_us() - reserved;
    }
    out.reserve_us /= n;
    out.outcome_us /= n;
    out.ok = true;
    return out;
}

bool on_tmpfs(const std::filesystem::path& p) {
    struct statfs fs {};
    return ::statfs(p.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

}  // namespace

int main(int argc, char** argv) {
    const std::filesystem::path base = purser::bench::work_dir(argc, argv);
    if (on_tmpfs(base)) {
        std::printf("warning: %s is tmpfs (no real fsync): the ratio will understate group commit\n",
                    base.c_str());
    }
    const auto dir = base / ("purser-reserve-bench-" + std::to_string(::getpid()));
    std::printf("store in %s, %.0f s per run; caps checked on every reservation\n",
                dir.c_str(), run_seconds);
    std::printf("%8s %16s %16s %8s %16s %14s %14s\n", "threads", "per-call res/s", "group res/s", "ratio",
                "res per commit", "per-call CPU", "group CPU");
    bool all_ok = true;
    for (int threads : thread_counts) {
        const outcome off = measure(dir, threads, false);
        const outcome on = measure(dir, threads, true);
        all_ok = all_ok && off.ok && on.ok;
        if (!off.ok || !on.ok) break;
        std::printf("%8d %16.0f %16.0f %7.1fx %16.1f %11.0f us %11.0f us\n", threads, off.per_second,
                    on.per_second, on.per_second / off.per_second, on.ops_per_commit, off.cpu_us, on.cpu_us);
    }
    std::printf("target: group commit >= 10x per-call at 64 threads\n");
    std::printf("\nfleet outbox, group commit\n%8s %16s %16s %8s\n", "threads", "no outbox res/s",
                "outbox res/s", "ratio");
    for (int threads : thread_counts) {
        if (!all_ok) break;
        const outcome off = measure(dir, threads, true, false);
        const outcome on = measure(dir, threads, true, true);
        all_ok = all_ok && off.ok && on.ok;
        if (!off.ok || !on.ok) break;
        std::printf("%8d %16.0f %16.0f %7.2fx\n", threads, off.per_second, on.per_second,
                    on.per_second / off.per_second);
    }
    if (all_ok) {
        std::printf(
            "\none caller's paid request (durable reservation, then outcome), default options:"
            "\nthe store's CPU\n%-10s %14s %14s %14s\n",
            "where", "reservation", "outcome", "both");
        const std::filesystem::path shm = "/dev/shm";
        for (const bool disk : {true, false, true, false}) {
            if (!disk && !on_tmpfs(shm)) continue;
            const auto one_dir =
                (disk ? base : shm) / ("purser-one-caller-" + std::to_string(::getpid()));
            const auto one = measure_one_caller(one_dir, 3'000);
            std::filesystem::remove_all(one_dir);
            if (!one.ok) {
                all_ok = false;
                break;
            }
            std::printf("%-10s %11.0f us %11.0f us %11.0f us\n", disk ? "disk" : "tmpfs",
                        one.reserve_us, one.outcome_us, one.reserve_us + one.outcome_us);
        }
    }
    if (all_ok) {
        // The pages are counted from pwrite's bytes, so a tmpfs (quick to fill) serves as well as
        // a disk.
        const std::filesystem::path shm = "/dev/shm";
        const auto pages_dir =
            (on_tmpfs(shm) ? shm : base) / ("purser-pages-bench-" + std::to_string(::getpid()));
        const pages_outcome pg = measure_pages(pages_dir, 150'000, 5, 2'000);
        std::filesystem::remove_all(pages_dir);
        all_ok = pg.ok;
        if (pg.ok) {
            std::printf(
                "\npages written per paid request (reservation, then outcome), store holding 5 "
                "minutes\n"
                "of payments (150,000 rows) in %s\n%-28s %10s\n",
                pages_dir.parent_path().c_str(), "agent", "pages");
            std::printf("%-28s %10.1f\n", "without a rate limit", pg.free_pages);
            std::printf("%-28s %10.1f\n", "with one (the rate index)", pg.rated_pages);
        } else {
            std::fprintf(stderr,
                         "pages: a payment failed, or the counters disagree with the ledger\n");
        }
    }
    std::filesystem::remove_all(dir);
    return all_ok ? 0 : 1;
}
