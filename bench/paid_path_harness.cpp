#include "paid_path_harness.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "purser/protocol/bytes.hpp"

namespace purser::bench {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::optional<std::string> shell(const std::string& command) {
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return std::nullopt;
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (::pclose(p) != 0) {
        std::fprintf(stderr, "failed: %s\n%s", command.c_str(), out.c_str());
        return std::nullopt;
    }
    return out;
}

std::string bin() {
    const char* b = std::getenv("PURSER_BIN");
    return std::string("'") + (b != nullptr ? b : PURSER_BIN) + "' ";
}

std::map<std::string, std::string> env_file(const fs::path& p) {
    std::map<std::string, std::string> out;
    std::istringstream in(slurp(p));
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("export ", 0) == 0) line = line.substr(7);
        const auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
        std::string v = line.substr(eq + 1);
        if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
        out[line.substr(0, eq)] = v;
    }
    return out;
}

std::vector<std::string> stat_fields(pid_t pid) {
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return {};
    // The command name may hold spaces and parentheses: it is whatever lies between the first
    // '(' and the last ')'.
    std::vector<std::string> f{"", stat.substr(0, open - 1), stat.substr(open + 1, close - open - 1)};
    std::istringstream rest(stat.substr(close + 1));
    for (std::string field; rest >> field;) f.push_back(field);
    return f;
}

double ticks_ms(double ticks) { return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK)); }

double cpu_ms(pid_t pid) {
    const auto f = stat_fields(pid);
    if (f.size() <= 15) return 0;
    return ticks_ms(std::stod(f[14]) + std::stod(f[15]));
}

double context_switches(pid_t pid) {
    double total = 0;
    std::error_code ec;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream status(task.path() / "status");
        for (std::string line; std::getline(status, line);) {
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            const std::string key = line.substr(0, colon);
            if (key == "voluntary_ctxt_switches" || key == "nonvoluntary_ctxt_switches") {
                total += std::strtod(line.c_str() + colon + 1, nullptr);
            }
        }
    }
    return total;
}

double disk_written_kib(pid_t pid) {
    std::ifstream io("/proc/" + std::to_string(pid) + "/io");
    for (std::string line; std::getline(io, line);) {
        if (line.rfind("write_bytes:", 0) == 0) return std::strtod(line.c_str() + 12, nullptr) / 1024.0;
    }
    return 0;
}

machine_ticks read_machine_ticks() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    if (!stat || cpu != "cpu") return {};
    const double busy = user + nice + system + irq + softirq + steal;
    return {busy, busy + idle + iowait};
}

double cores_busy(const machine_ticks& before, const machine_ticks& after) {
    const double total = after.total - before.total;
    if (total <= 0) return 0;
    return (after.busy - before.busy) / total * static_cast<double>(std::thread::hardware_concurrency());
}

std::optional<std::string> add_agent(const fs::path& home, const std::string& name,
                                     const std::string& flags, const std::string& binary) {
    auto added = shell("PURSER_HOME='" + home.string() + "' " + (binary.empty() ? bin() : binary) +
                       "agent add " + name + " " + flags);
    std::smatch m;
    if (!added || !std::regex_search(*added, m, std::regex(name + ":([0-9a-f]+)@"))) return std::nullopt;
    return "Basic " + purser::protocol::base64_encode(name + ":" + m[1].str());
}

std::optional<proxy_run> start_proxy(const std::string& name, const fs::path& home,
                                     const fs::path& testnet_env, const std::string& extra,
                                     const std::string& agent_flags, const std::string& env_vars,
                                     const std::string& binary) {
    proxy_run r;
    r.name = name;
    r.home = home;
    r.binary = binary.empty() ? bin() : binary;
    fs::create_directories(home);
    const std::string env = env_vars + " PURSER_HOME='" + home.string() + "' ";
    auto authorization = add_agent(home, "bench", agent_flags, r.binary);
    if (!authorization) return std::nullopt;
    r.authorization = *authorization;
    // A baseline build older than the admin listener (issue 13) has no --admin-listen.
    const auto help = shell(r.binary + "proxy --help");
    const std::string admin_off =
        help && help->find("--admin-listen") != std::string::npos ? "--admin-listen off " : "";
    std::smatch m;
    auto started = shell(env + r.binary + "proxy --detach --listen 127.0.0.1:0 " + admin_off +
                         "--log /dev/null --testnet-env '" + testnet_env.string() + "' " + extra);
    if (!started || !std::regex_search(*started, m, std::regex("127\\.0\\.0\\.1:([0-9]+) \\(pid ([0-9]+)"))) {
        return std::nullopt;
    }
    r.port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    r.pid = static_cast<pid_t>(std::stol(m[2].str()));
    return r;
}

void stop(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

double best_of(const std::vector<double>& rates) {
    return rates.empty() ? 0 : *std::max_element(rates.begin(), rates.end());
}

double median_of(std::vector<double> rates) {
    if (rates.empty()) return 0;
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

namespace {
/// PURSER_BENCH_REQUESTS=N scales every round to N requests (the default rounds are short so
/// that `./run bench` stays quick; longer ones steady the figures and leave time for perf).
unsigned scaled(unsigned requests) {
    const char* v = std::getenv("PURSER_BENCH_REQUESTS");
    if (v == nullptr || *v == '\0') return requests;
    const unsigned long n = std::strtoul(v, nullptr, 10);
    return n == 0 || n > 10'000'000 ? requests : static_cast<unsigned>(n);
}

/// PURSER_BENCH_PEER=NAME measures only that peer (a profiler attached to its proxy then sees
/// nothing but its load).
bool profiled_peer(const std::string& name) {
    const char* v = std::getenv("PURSER_BENCH_PEER");
    return v == nullptr || *v == '\0' || name == v;
}

/// PURSER_BENCH_CONNS=1,2,4 measures at those connection counts instead of 1, 16 and 64 (the
/// concurrencies in between are where batching decisions show their latency).
std::vector<unsigned> connection_counts() {
    std::vector<unsigned> out;
    if (const char* v = std::getenv("PURSER_BENCH_CONNS"); v != nullptr) {
        for (const char* p = v; *p != '\0';) {
            char* end = nullptr;
            const unsigned long n = std::strtoul(p, &end, 10);
            if (end == p) break;
            if (n >= 1 && n <= 1024) out.push_back(static_cast<unsigned>(n));
            p = *end == ',' ? end + 1 : end;
        }
    }
    if (out.empty()) out = {1u, 16u, 64u};
    return out;
}
}  // namespace

bool compare_peers(std::vector<peer>& peers, const std::string& url, pid_t testnet_pid,
                   const std::vector<std::pair<std::string, std::string>>& ratio_rows, round_rates* rates,
                   unsigned requests) {
    bool ok = true;
    std::printf("%-6s %-16s %9s %9s %9s %16s %16s %17s %18s %11s\n", "conns", "peer", "paid/s", "p50 ms",
                "p99 ms", "proxy CPU ms/req", "testnet ms/req", "proxy switch/req", "proxy disk KiB/req",
                "cores busy");
    for (unsigned conns : connection_counts()) {
        // Unmeasured: 3 paid requests per connection through each proxy, so that the testnet's
        // threads for this many connections and each proxy's upstream connections exist before
        // the first measured run (else whoever runs first pays for them).
        for (const peer& p : peers) {
            if (p.proxy == nullptr) continue;
            load warm;
            warm.port = p.proxy->port;
            warm.target = url;
            warm.clients = conns;
            warm.per_client = 3;
            warm.proxy_authorization = p.proxy->authorization;
            (void)drive(warm);
        }
        std::map<std::string, std::vector<double>> rate;
        std::map<std::string, std::vector<double>> proxy_cpu_per_request;  // ms, each round's
        for (std::size_t round = 0; round < 3; ++round) {  // interleaved: the machine is shared
            // Each round starts with the next peer: whoever runs first (a machine that grows
            // busier) is not always the same one.
            for (std::size_t i = 0; i < peers.size(); ++i) {
                peer& p = peers[(round + i) % peers.size()];
                if (!profiled_peer(p.name)) continue;
                const unsigned per_client = std::max(3u, scaled(requests) / conns);
                const double proxy_before = p.proxy != nullptr ? cpu_ms(p.proxy->pid) : 0;
                const double switches_before = p.proxy != nullptr ? context_switches(p.proxy->pid) : 0;
                const double disk_before = p.proxy != nullptr ? disk_written_kib(p.proxy->pid) : 0;
                const double testnet_before = cpu_ms(testnet_pid);
                const machine_ticks machine_before = read_machine_ticks();
                run_stats s;
                if (p.proxy != nullptr) {
                    load l;
                    l.port = p.proxy->port;
                    l.target = url;
                    l.clients = conns;
                    l.per_client = per_client;
                    l.proxy_authorization = p.proxy->authorization;
                    s = drive(l);
                } else {
                    s = p.official(conns, per_client);
                }
                const double busy = cores_busy(machine_before, read_machine_ticks());
                const double n = s.requests == 0 ? 1.0 : static_cast<double>(s.requests);
                char proxy_cpu[32] = "-";  // the official client runs in its own short-lived process
                char proxy_switches[32] = "-";
                char proxy_disk[32] = "-";
                if (p.proxy != nullptr) {
                    std::snprintf(proxy_disk, sizeof proxy_disk, "%.1f",
                                  (disk_written_kib(p.proxy->pid) - disk_before) / n);
                    const double cpu = (cpu_ms(p.proxy->pid) - proxy_before) / n;
                    proxy_cpu_per_request[p.name].push_back(cpu);
                    std::snprintf(proxy_cpu, sizeof proxy_cpu, "%.3f", cpu);
                    std::snprintf(proxy_switches, sizeof proxy_switches, "%.1f",
                                  (context_switches(p.proxy->pid) - switches_before) / n);
                }
                std::printf("%-6u %-16s %9.0f %9.1f %9.1f %16s %16.3f %17s %18s %11.2f%s\n", conns,
                            p.name.c_str(), s.requests_per_second, s.p50_us / 1000, s.p99_us / 1000, proxy_cpu,
                            (cpu_ms(testnet_pid) - testnet_before) / n, proxy_switches, proxy_disk, busy,
                            s.failures != 0 ? "  (failures)" : "");
                if (s.failures != 0) ok = false;
                rate[p.name].push_back(s.requests_per_second);
            }
        }
        auto pairs = ratio_rows;
        for (std::size_t i = 1; i < peers.size(); ++i) pairs.emplace_back(peers[0].name, peers[i].name);
        for (const auto& [a, b] : pairs) {
            // PURSER_BENCH_PEER may have left one side of a pair out: no ratio then.
            if (best_of(rate[a]) > 0 && best_of(rate[b]) > 0) {
                std::printf("       best of 3 at %u: %s / %s = %.2fx paid/s\n", conns, a.c_str(), b.c_str(),
                            best_of(rate[a]) / best_of(rate[b]));
            }
            const double cpu_a = median_of(proxy_cpu_per_request[a]),
                         cpu_b = median_of(proxy_cpu_per_request[b]);
            if (cpu_a > 0 && cpu_b > 0) {
                std::printf(
                    "       median of 3 at %u: proxy CPU per paid request, %s / %s = %.2fx\n",
                    conns, a.c_str(), b.c_str(), cpu_a / cpu_b);
            }
        }
        if (rates != nullptr) (*rates)[conns] = rate;
    }
    return ok;
}


}  // namespace purser::bench
