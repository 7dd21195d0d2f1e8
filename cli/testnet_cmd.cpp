// purser testnet up | down | mint | settle: run the local x402 world, stop it, fund an address,
// have the merchant claim and settle its batch-settlement vouchers.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "command_table.hpp"
#include "detach.hpp"
#include "commands.hpp"
#include "config_resolver.hpp"
#include "purser/testnet/env_file.hpp"
#include "options.hpp"
#include "purser/protocol/address.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/testnet/http.hpp"
#include "purser/testnet/merchant.hpp"
#include "purser/testnet/world.hpp"

namespace purser::cli {
namespace {

namespace fs = std::filesystem;


fs::path testnet_dir(const options& o) {
    if (auto d = o.get("dir")) return *d;
    return purser_home() / "testnet";
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// KEY from D/testnet.env.
std::optional<std::string> env_value(const fs::path& dir, const std::string& key) {
    auto env = testnet::read_env_file(dir / "testnet.env");
    if (!env) return std::nullopt;
    auto it = env->find(key);
    if (it == env->end()) return std::nullopt;
    return it->second;
}

int up(const options& o) {
    testnet::world_options wo;
    wo.dir = testnet_dir(o);
    auto base_port = o.get("base-port");
    if (const char* e = std::getenv("PURSER_TESTNET_BASE_PORT"); !base_port && e != nullptr && *e != '\0')
        base_port = e;
    if (auto p = base_port) {
        char* end = nullptr;
        const unsigned long port = std::strtoul(p->c_str(), &end, 10);
        if (end == p->c_str() || *end != '\0' || port > 65528) return report("--base-port must be 0..65528", 2);
        wo.base_port = static_cast<std::uint16_t>(port);
    }
    readiness detached;
    if (o.has("detach")) {
        std::error_code ec;
        fs::create_directories(wo.dir, ec);
        if (auto parent_rc = detach(wo.dir / "testnet.log", detached)) return *parent_rc;
    }
    // Block the stop signals before any server thread starts, so only sigwait sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const fs::path pid_file = wo.dir / "testnet.pid";
    if (fs::exists(pid_file)) {
        const long old = std::atol(slurp(pid_file).c_str());
        if (old > 0 && ::kill(static_cast<pid_t>(old), 0) == 0) {
            return report("a testnet is already running in " + wo.dir.string() + " (pid " + std::to_string(old) + ")");
        }
    }
    auto w = testnet::world::start(wo);
    if (!w) return report(w.error());
    {
        std::ofstream pid(pid_file, std::ios::trunc);
        pid << ::getpid() << "\n";
    }
    std::ostringstream banner;
    banner << "purser testnet: chain " << (*w)->rpc_url() << ", facilitator " << (*w)->facilitator_url()
           << ", merchants " << (*w)->merchant_http_url() << " " << (*w)->merchant_https_url() << " (v1 "
           << (*w)->merchant_v1_http_url() << "), hostile " << (*w)->merchant_hostile_http_url() << "\n"
           << "purser testnet: ready; wrote " << fs::absolute((*w)->env_file()).string() << "\n";
    std::cout << banner.str() << std::flush;
    detached.ready(banner.str());
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cout << "purser testnet: stopping (signal " << sig << ")\n" << std::flush;
    (*w)->stop();
    w->reset();
    std::error_code ec;
    fs::remove(pid_file, ec);
    return 0;
}

int down(const options& o) {
    const fs::path dir = testnet_dir(o);
    const fs::path pid_file = dir / "testnet.pid";
    if (!fs::exists(pid_file)) return report("no testnet running in " + dir.string() + " (no testnet.pid)");
    const long pid = std::atol(slurp(pid_file).c_str());
    if (pid <= 0) return report("bad pid file " + pid_file.string());
    if (::kill(static_cast<pid_t>(pid), SIGTERM) != 0) {
        std::error_code ec;
        fs::remove(pid_file, ec);
        return report("testnet process " + std::to_string(pid) + " is not running; removed the stale pid file");
    }
    for (int i = 0; i < 600; ++i) {
        if (::kill(static_cast<pid_t>(pid), 0) != 0) {
            std::cout << "purser testnet: stopped (pid " << pid << ")\n";
            return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return report("testnet process " + std::to_string(pid) + " did not stop within 30 s");
}

int mint(const options& o) {
    const fs::path dir = testnet_dir(o);
    auto to = o.get("to");
    auto amount = o.get("amount");
    if (!to || !amount) return report("mint needs --to and --amount (see purser testnet mint --help)", 2);
    auto addr = protocol::address::parse(*to);
    if (!addr) return report(addr.error());
    auto atomic = protocol::parse_units(*amount, 6);
    if (!atomic) return report(atomic.error());
    auto rpc = env_value(dir, "PURSER_TESTNET_RPC");
    if (!rpc) return report("no testnet.env in " + dir.string() + "; is the testnet up?");
    nlohmann::json req{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "testnet_mint"},
                       {"params", {addr->to_checksum(), atomic->to_decimal()}}};
    testnet::http_call_options co;
    co.headers = {{"Content-Type", "application/json"}};
    co.body = req.dump();
    auto reply = testnet::http_call("POST", *rpc, co);
    if (!reply) return report(reply.error());
    auto j = nlohmann::json::parse(reply->body, nullptr, false);
    if (j.is_discarded() || !j.contains("result")) {
        return report("mint failed: " + (j.is_discarded() ? reply->body : j.value("error", nlohmann::json()).dump()));
    }
    std::cout << "minted " << *amount << " USDC to " << addr->to_checksum() << " (tx "
              << j["result"].get<std::string>() << ")\n";
    return 0;
}

// The v2 merchant claims every channel's vouchers and settles them to its payee.
int settle(const options& o) {
    const fs::path dir = testnet_dir(o);
    auto merchant = env_value(dir, "PURSER_TESTNET_MERCHANT_HTTP");
    if (!merchant) return report("no testnet.env in " + dir.string() + "; is the testnet up?");
    testnet::http_call_options co;
    co.headers = {{"Content-Type", "application/json"}};
    auto reply = testnet::http_call("POST", *merchant + testnet::merchant::settle_batches_path, co);
    if (!reply) return report(reply.error());
    auto j = nlohmann::json::parse(reply->body, nullptr, false);
    if (reply->status != 200 || j.is_discarded() || !j.is_object()) {
        return report("settle failed: HTTP " + std::to_string(reply->status) + " " + reply->body);
    }
    if (j.value("success", false)) {
        auto amount = protocol::uint256::from_decimal(j.value("amount", ""));
        std::cout << "settled " << (amount ? protocol::format_units(*amount, 6) : std::string("?")) << " USDC (tx "
                  << j.value("transaction", "") << ")\n";
        return 0;
    }
    if (j.value("errorReason", "") == "invalid_batch_settlement_evm_nothing_to_settle") {
        std::cout << "nothing to settle\n";
        return 0;
    }
    return report("settle failed: " + j.value("errorReason", std::string("unknown")));
}

}  // namespace

int testnet_command(const words& args) {
    if (args.empty() || wants_help(args)) {
        (args.empty() ? std::cerr : std::cout) << group_help("testnet");
        return args.empty() ? 2 : 0;
    }
    const std::string sub = args[0];
    if (find_command("testnet " + sub) == nullptr) return report(group_help("testnet"), 2);
    words rest(args.begin() + 1, args.end());
    int rc = 0;
    auto o = parse_command("testnet " + sub, rest, rc);
    if (!o) return rc;
    if (sub == "up") return up(*o);
    if (sub == "down") return down(*o);
    if (sub == "mint") return mint(*o);
    if (sub == "settle") return settle(*o);
    return report(group_help("testnet"), 2);
}

}  // namespace purser::cli
