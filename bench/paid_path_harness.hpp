// What every paid_path_bench scenario shares: shell commands, the real `purser` binary started
// as a detached proxy with its own home on the shared testnet, per-process CPU from /proc, and
// peers measured against each other in interleaved rounds.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http_load.hpp"

namespace purser::bench {

std::string slurp(const std::filesystem::path& p);

/// Runs a shell command; returns its stdout, or nullopt (after printing it) when it failed.
std::optional<std::string> shell(const std::string& command);

/// The purser binary, quoted, with a trailing space: PURSER_BIN when set (to measure another
/// build), else this build's.
std::string bin();

/// KEY=VALUE lines (optionally `export `, optionally quoted), as testnet.env holds them.
std::map<std::string, std::string> env_file(const std::filesystem::path& p);

/// The fields of /proc/PID/stat numbered as proc(5) numbers them: [1] pid, [2] comm, [4] ppid,
/// [14] utime, [15] stime, [16] cutime, [17] cstime, ...; [0] is empty. Empty when the process
/// is gone.
std::vector<std::string> stat_fields(pid_t pid);
/// Clock ticks (as /proc/PID/stat counts CPU time) in milliseconds.
double ticks_ms(double ticks);
/// utime + stime of a process, in milliseconds.
double cpu_ms(pid_t pid);
/// Context switches (voluntary and not) of a process's live threads so far: unlike CPU time,
/// barely moved by a busy host, so it shows thread hand-offs per request steadily.
double context_switches(pid_t pid);
/// KiB a process has sent to storage so far (/proc/PID/io write_bytes, counted when a clean page
/// is dirtied): for the proxy, the store's pages (a page written by two commits counts twice).
double disk_written_kib(pid_t pid);

/// Every core's busy and total clock ticks since boot (/proc/stat; idle and iowait are not busy).
struct machine_ticks {
    double busy = 0;
    double total = 0;
};
machine_ticks read_machine_ticks();
/// How many cores were busy on average between two readings (the whole machine: the bench
/// client, the proxies, the testnet and any neighbour).
double cores_busy(const machine_ticks& before, const machine_ticks& after);

struct proxy_run {
    std::string name;
    std::filesystem::path home;
    pid_t pid = 0;
    std::uint16_t port = 0;
    std::string authorization;  // "Basic base64(bench:token)"
    std::string binary;         // the quoted purser command it runs (bin() or a baseline's)
};

/// `purser agent add NAME FLAGS` in `home` (with `binary`, bin() when empty); returns the agent's
/// Proxy-Authorization value.
std::optional<std::string> add_agent(const std::filesystem::path& home, const std::string& name,
                                     const std::string& flags, const std::string& binary = "");

/// A proxy with its own home (store, CA, pid file) on the shared testnet, and an agent `bench`
/// added with `agent_flags`. `env` goes before the command (VAR='value' ...). `binary` is the
/// quoted purser command to run (bin() when empty): another build, say, as a baseline.
std::optional<proxy_run> start_proxy(const std::string& name, const std::filesystem::path& home,
                                     const std::filesystem::path& testnet_env,
                                     const std::string& extra,
                                     const std::string& agent_flags = "--unlimited",
                                     const std::string& env = "", const std::string& binary = "");

/// SIGTERM, then waits up to 15 s for the process to go.
void stop(pid_t pid);

/// One measured target: a proxy the load generator drives, or the official client's own loops.
struct peer {
    std::string name;
    proxy_run* proxy = nullptr;  ///< Driven through this proxy; nullptr = `official`.
    std::function<run_stats(unsigned conns, unsigned per_client)> official;
};

/// Every round's paid/s, by connection count, then by peer name.
using round_rates = std::map<unsigned, std::map<std::string, std::vector<double>>>;

[[nodiscard]] double best_of(const std::vector<double>& rates);
[[nodiscard]] double median_of(std::vector<double> rates);

/// Peers on the same URL at 1, 16 and 64 connections, in 3 interleaved rounds, each led by the
/// next peer (group commit against one commit per step; vouchers against exact and the official
/// client). After each connection count, the best of 3 of the first peer against each other peer
/// (and `ratio_rows` more pairs by name), and for pairs of proxies the median of their CPU per
/// paid request; false on failures. Each measurement sends about
/// `requests` requests (at least 3 per connection), after an unmeasured warm-up at each count.
bool compare_peers(std::vector<peer>& peers, const std::string& url, pid_t testnet_pid,
                   const std::vector<std::pair<std::string, std::string>>& ratio_rows = {},
                   round_rates* rates = nullptr, unsigned requests = 128);

}  // namespace purser::bench
