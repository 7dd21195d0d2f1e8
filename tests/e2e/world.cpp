#include "world.hpp"

#include <sys/stat.h>

#include "purser/protocol/keccak.hpp"

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/messages.hpp"

namespace purser::test {

namespace {

std::string bin() {
    const char* b = std::getenv("PURSER_BIN");
    return b != nullptr ? b : PURSER_BIN;
}

}  // namespace

world::world(const std::function<void(const std::filesystem::path&)>& prepare) {
    env_["PURSER_HOME"] = (dir_.path() / "home").string();
    auto testnet_dir = dir_.path() / "testnet";
    if (prepare) {
        std::filesystem::create_directories(testnet_dir);
        prepare(testnet_dir);
    }
    testnet_ = std::make_unique<process>(
        std::vector<std::string>{bin(), "testnet", "up", "--dir", testnet_dir.string(), "--base-port", "0"},
        env_, dir_.path() / "logs", "testnet");
    testnet_->wait_for(std::regex("testnet\\.env"), std::chrono::seconds(120));
    testnet_env_ = read_env_file(testnet_dir / "testnet.env");
    env_["PURSER_WALLET_PASSWORD_FILE"] = testnet_env_.at("PURSER_TESTNET_PASSWORD_FILE");
}

void world::start_proxy(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{bin(), "proxy", "--listen", "127.0.0.1:0",
                                  "--upstream-ca", testnet_env_.at("PURSER_TESTNET_CA"),
                                  "--keystore", testnet_env_.at("PURSER_TESTNET_KEYSTORE"),
                                  "--testnet-env", (dir_.path() / "testnet" / "testnet.env").string(),
                                  "--log", access_log().string(),
                                  "--admin-listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proxy_ = std::make_unique<process>(argv, env_, dir_.path() / "logs", "proxy");
    proxy_address_ = proxy_->wait_for(std::regex("proxy listening on ([0-9.]+:[0-9]+)"), std::chrono::seconds(60));
    const std::string out = proxy_->output();
    std::smatch m;
    admin_address_.clear();
    if (std::regex_search(out, m, std::regex("admin listening on ([0-9.]+:[0-9]+)"))) admin_address_ = m[1].str();
}

int world::stop_proxy() {
    int status = proxy_->signal_and_wait(SIGTERM);
    return status;
}

int world::kill_proxy() { return proxy_->signal_and_wait(SIGKILL); }

run_result world::purser(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, env_);
}

std::string world::add_agent(const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"agent", "add", name};
    argv.insert(argv.end(), args.begin(), args.end());
    // The scenarios written for an agent without limits keep one (add's defaults would cap it).
    if (args.empty()) argv.push_back("--unlimited");
    auto r = purser(argv);
    if (r.exit_code != 0) throw std::runtime_error("agent add failed: " + r.err);
    std::smatch m;
    std::regex token(name + ":([0-9a-fA-F]{32,})@");
    if (!std::regex_search(r.out, m, token)) throw std::runtime_error("no token in: " + r.out);
    return m[1].str();
}

std::string world::write_admin_token(const std::string& token) const {
    const auto file = dir_.path() / "admin.token";
    std::ofstream(file) << token << "\n";
    ::chmod(file.c_str(), 0600);
    return file.string();
}

std::string world::proxy_url(const std::string& agent, const std::string& token) const {
    return "http://" + agent + ":" + token + "@" + proxy_address_;
}

http_reply world::via_proxy(const std::string& agent, const std::string& token,
                            const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"-x", proxy_url(agent, token), "--cacert", ca_file()};
    argv.insert(argv.end(), args.begin(), args.end());
    return curl(argv);
}

protocol::uint256 world::balance(const std::string& address) const {
    std::string addr = address.substr(2);
    for (auto& c : addr) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string data = "0x70a08231" + std::string(24, '0') + addr;
    nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "eth_call"},
                          {"params", {{{"to", testnet_env_.at("PURSER_TESTNET_ASSET")}, {"data", data}}, "latest"}}};
    auto r = run({"curl", "-sS", "--noproxy", "*", "-H", "Content-Type: application/json", "--data",
                  req.dump(), testnet_env_.at("PURSER_TESTNET_RPC")});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("result")) throw std::runtime_error("eth_call failed: " + r.out + r.err);
    auto raw = protocol::from_hex(j["result"].get<std::string>());
    return *protocol::uint256::from_be_bytes(*raw);
}

protocol::uint256 world::settled_balance(const std::string& address, std::chrono::milliseconds quiet) const {
    auto last = balance(address);
    auto since = std::chrono::steady_clock::now();
    for (int i = 0; i < 600; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto now = balance(address);
        if (now != last) {
            last = now;
            since = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - since >= quiet) {
            break;
        }
    }
    return last;
}

std::pair<protocol::uint256, protocol::uint256> world::escrow(const std::string& channel_id) const {
    const auto selector = protocol::keccak256(std::string_view("channels(bytes32)"));
    const std::string data = protocol::to_hex(protocol::byte_view(selector.data(), 4)) + channel_id.substr(2);
    nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "eth_call"},
                          {"params", {{{"to", "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003"}, {"data", data}}, "latest"}}};
    auto r = run({"curl", "-sS", "--noproxy", "*", "-H", "Content-Type: application/json", "--data",
                  req.dump(), testnet_env_.at("PURSER_TESTNET_RPC")});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("result")) throw std::runtime_error("eth_call failed: " + r.out + r.err);
    auto raw = protocol::from_hex(j["result"].get<std::string>());
    if (!raw || raw->size() < 64) throw std::runtime_error("short channels() answer: " + r.out);
    return {*protocol::uint256::from_be_bytes(protocol::byte_view(raw->data(), 32)),
            *protocol::uint256::from_be_bytes(protocol::byte_view(raw->data() + 32, 32))};
}

protocol::uint256 world::price_of(const std::string& url, const std::vector<std::string>& curl_args) const {
    std::vector<std::string> argv{"--noproxy", "*", "--cacert", testnet_env_.at("PURSER_TESTNET_CA")};
    argv.insert(argv.end(), curl_args.begin(), curl_args.end());
    argv.push_back(url);
    auto reply = curl(argv);
    if (reply.status != 402) throw std::runtime_error("expected 402 from " + url + ", got " + reply.raw);
    auto terms = protocol::read_payment_required(reply.header("payment-required"), reply.body);
    if (!terms) throw std::runtime_error("unreadable 402 terms: " + terms.error().message());
    return terms->accepts.at(0).amount;
}

std::vector<nlohmann::json> world::ledger(const std::string& agent) const {
    auto r = purser({"ledger", "--agent", agent, "--format", "json", "--since", "24h"});
    if (r.exit_code != 0) throw std::runtime_error("ledger failed: " + r.err);
    std::vector<nlohmann::json> rows;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
    }
    return rows;
}

}  // namespace purser::test
