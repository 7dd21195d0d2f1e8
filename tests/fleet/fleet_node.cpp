#include "fleet_node.hpp"

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace purser::test {

fleet_node::fleet_node(world& w, const postgres_server& pg, std::string id) : w_(w), id_(std::move(id)) {
    env_ = w.base_env();
    env_["PURSER_STORE_DIR"] = (w.dir() / ("store-" + id_)).string();
    env_["PURSER_FLEET_DB"] = pg.conninfo();
    env_["PURSER_FLEET_PASSWORD_FILE"] = pg.password_file().string();
    env_["PURSER_FLEET_PROXY_ID"] = id_;
}

std::string fleet_node::add_agent(const std::string& name) {
    auto r = purser({"agent", "add", name, "--unlimited"});
    if (r.exit_code != 0) throw std::runtime_error("agent add: " + r.err);
    std::smatch m;
    if (!std::regex_search(r.out, m, std::regex(name + ":([0-9a-fA-F]{32,})@")))
        throw std::runtime_error("no token in: " + r.out);
    tokens_[name] = m[1].str();
    return m[1].str();
}

void fleet_node::start(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{PURSER_BIN,
                                  "proxy",
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--keystore",
                                  w_.env("PURSER_TESTNET_KEYSTORE"),
                                  "--testnet-env",
                                  (w_.dir() / "testnet" / "testnet.env").string(),
                                  "--log",
                                  (w_.dir() / "logs" / (id_ + ".jsonl")).string(),
                                  "--admin-listen",
                                  "off"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proxy_ = std::make_unique<process>(argv, env_, w_.dir() / "logs", "proxy-" + id_ + "-" + std::to_string(++starts_));
    address_ = proxy_->wait_for(std::regex("proxy listening on ([0-9.]+:[0-9]+)"), std::chrono::seconds(30));
}

int fleet_node::stop(int sig) { return proxy_->signal_and_wait(sig); }

http_reply fleet_node::pay(const std::string& agent, const std::string& url) const {
    return curl({"-x", "http://" + agent + ":" + tokens_.at(agent) + "@" + address_, url});
}

std::vector<std::string> fleet_node::pay_sequentially(const std::string& agent, const std::string& url,
                                                      int n) const {
    const auto cfg_file = w_.dir() / ("curl-" + id_ + "-" + agent + "-" + std::to_string(starts_) + ".cfg");
    {
        std::ofstream cfg(cfg_file);
        for (int i = 0; i < n; ++i)
            cfg << "url = \"" << url << "?i=" << i << "\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\"\n";
    }
    const std::string proxy_url = "http://" + agent + ":" + tokens_.at(agent) + "@" + address_;
    auto r = run({"curl", "-sS", "--max-time", "60", "-x", proxy_url, "-K", cfg_file.string()});
    std::vector<std::string> codes;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) codes.push_back(line);
    return codes;
}

run_result fleet_node::purser(std::vector<std::string> args) const {
    args.insert(args.begin(), PURSER_BIN);
    return run(args, env_);
}

std::map<std::uint64_t, std::string> fleet_node::local_ledger() const {
    auto r = purser({"ledger", "--since", "1d", "--format", "json"});
    if (r.exit_code != 0) throw std::runtime_error("ledger: " + r.err);
    std::map<std::uint64_t, std::string> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        auto j = nlohmann::json::parse(line);
        out[j["id"].get<std::uint64_t>()] = j["status"].get<std::string>();
    }
    return out;
}

std::string fleet_node::output() const { return proxy_ ? proxy_->output() : ""; }

std::unique_ptr<fleet::connection> connect(const postgres_server& pg) {
    auto c = fleet::connection::open({pg.conninfo(), pg.password()});
    if (!c) throw std::runtime_error(c.error().detail);
    return std::move(*c);
}

shipped_rows fleet_rows(fleet::connection& c, const std::string& proxy_id) {
    auto r = c.exec("SELECT row_id, status FROM fleet_ledger WHERE proxy_id = $1", {proxy_id});
    if (!r) throw std::runtime_error(r.error().detail);
    shipped_rows out;
    out.count = r->size();
    for (std::size_t i = 0; i < r->size(); ++i) out.rows[r->u64(i, "row_id")] = r->text(i, "status");
    return out;
}

bool wait_for_fleet(fleet::connection& c, const std::string& proxy_id,
                    const std::map<std::uint64_t, std::string>& want, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (fleet_rows(c, proxy_id).rows == want) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

run_result migrate_fleet(const world& w, const postgres_server& pg) {
    return run({PURSER_BIN, "fleet", "migrate", "--db", pg.conninfo(), "--db-password-file",
                pg.password_file().string()},
               w.base_env());
}

}  // namespace purser::test
