#include "runtime_matrix.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace purser::test {

namespace {

const std::vector<std::string> paid_steps{"http_get", "https_get", "post_json",
                                          "post_1mb", "stream",    "after_stream"};

std::string install_hint(const std::string& what) {
    return what +
           " is missing: the runtime matrix needs every runtime of the README's table; "
           "install them with PURSER_WITH_NODE=1 scripts/install-deps.sh (./run test does)";
}

// "0.001 USDC eip155:31337 0xTX": the amount in atomic units (USDC has 6 decimals) and the tx.
std::pair<std::uint64_t, std::string> parse_paid(const std::string& header) {
    std::istringstream in(header);
    std::string amount, asset, network, tx;
    in >> amount >> asset >> network >> tx;
    auto dot = amount.find('.');
    std::string whole = amount.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : amount.substr(dot + 1);
    REQUIRE(frac.size() <= 6);
    frac.resize(6, '0');
    return {std::stoull(whole) * 1'000'000 + std::stoull(frac), tx};
}

bool starts_with(const nlohmann::json& v, const std::string& prefix) {
    return v.is_string() && v.get<std::string>().rfind(prefix, 0) == 0;
}

// "paid; ledger=12" -> "12"
std::string ledger_id(const nlohmann::json& step) {
    const auto decision = step.at("decision").get<std::string>();
    const auto at = decision.find("ledger=");
    REQUIRE(at != std::string::npos);
    return decision.substr(at + 7, decision.find(';', at) - at - 7);
}

// The access log's request lines (not server events), once it holds one per step: the proxy
// writes a line after the answer has left, so the client may finish first. Bounded wait.
std::vector<nlohmann::json> request_lines(const world& w, std::size_t steps) {
    std::vector<nlohmann::json> lines;
    for (int attempt = 0; attempt < 200 && lines.size() < steps; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        lines.clear();
        std::ifstream log(w.access_log());
        std::string line;
        while (std::getline(log, line)) {
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (!j.is_discarded() && j.contains("method") && !j.contains("tunnel"))
                lines.push_back(j);
        }
    }
    REQUIRE(lines.size() == steps);
    return lines;
}

// Index in `lines` of the request with this step's ledger id.
std::size_t line_of(const std::vector<nlohmann::json>& lines, const nlohmann::json& step) {
    const auto id = ledger_id(step);
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].value("ledger_id", "") == id) return i;
    FAIL("no access log line with ledger_id " << id);
    return 0;
}

std::string client_of(const nlohmann::json& line) { return line.at("client").get<std::string>(); }

}  // namespace

std::string runtime_script(const std::string& name) {
    return std::string(PURSER_SOURCE_DIR) + "/tests/e2e/runtimes/" + name;
}

void require_program(const std::string& program) {
    if (which(program).empty()) FAIL(install_hint(program));
}

void require_python_module(const std::string& module) {
    auto r = run({"/usr/bin/python3", "-c", "import " + module});
    if (r.exit_code != 0) FAIL(install_hint("the Python module " + module) + "\n" + r.err);
}

std::string npm_modules() {
    require_program("node");
    require_program("npm");
    const std::string dir = std::string(PURSER_SOURCE_DIR) + "/build/npm-matrix";
    auto install =
        run({"flock", dir + ".lock", "sh", "-c",
             "mkdir -p '" + dir + "' && cd '" + dir +
                 "' && "
                 "([ -d node_modules/undici ] && [ -d node_modules/axios ] || "
                 "npm install --no-audit --no-fund --silent undici@6 axios@1 >/dev/null)"},
            {}, std::chrono::seconds(300));
    INFO(install.err);
    REQUIRE(install.exit_code == 0);
    return dir + "/node_modules";
}

env_map ca_env(world& w) {
    auto r = w.purser({"ca", "env"});
    REQUIRE(r.exit_code == 0);
    auto file = w.dir() / "ca.env";
    std::ofstream(file) << r.out;
    return read_env_file(file);
}

env_map user_env(world& w, const std::string& agent, const std::string& token) {
    auto env = ca_env(w);
    const auto url = w.proxy_url(agent, token);
    for (const char* name : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"})
        env[name] = url;
    env["NO_PROXY"] = "";
    env["no_proxy"] = "";
    return env;
}

matrix_steps run_agent(const std::vector<std::string>& argv, const env_map& env) {
    auto r = run(argv, env, std::chrono::seconds(300));
    INFO("agent output:\n" << r.out << r.err);
    REQUIRE(r.exit_code == 0);
    matrix_steps steps;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line.front() != '{') continue;
        auto j = nlohmann::json::parse(line);
        REQUIRE(steps.emplace(j.at("step").get<std::string>(), j).second);
    }
    for (const auto* name : {"http_get", "https_get", "post_json", "post_1mb", "stream",
                             "after_stream", "free", "declined"}) {
        INFO(name);
        REQUIRE(steps.count(name) == 1);
        REQUIRE_FALSE(steps.at(name).contains("error"));
    }
    return steps;
}

balances read_balances(const world& w) {
    return {w.balance(w.payer()).low64(), w.balance(w.env("PURSER_TESTNET_PAYEE")).low64()};
}

void check_matrix(const world& w, const std::string& agent, const matrix_steps& steps,
                  const balances& before, connection_reuse reuse) {
    std::map<std::string, std::uint64_t> paid_by_tx;  // what the client was told it paid
    std::uint64_t received_paid = 0;
    for (const auto& name : paid_steps) {
        const auto& s = steps.at(name);
        INFO(name << ": " << s.dump());
        CHECK(s.at("status") == 200);
        CHECK(starts_with(s.at("decision"), "paid;"));
        auto [amount, tx] = parse_paid(s.at("paid").get<std::string>());
        CHECK(amount > 0);
        CHECK(paid_by_tx.emplace(tx, amount).second);
        received_paid += amount;
    }
    for (const auto* name : {"post_json", "post_1mb"}) {  // the paid retry carried the body intact
        const auto& s = steps.at(name);
        INFO(name << ": " << s.dump());
        CHECK(s.at("sha256") == s.at("sent_sha256"));
        CHECK(s.at("length") == s.at("sent_length"));
    }
    CHECK(steps.at("post_1mb").at("length") == 1000000);
    CHECK(steps.at("stream").at("events") == 5);
    // Which agent connection carried each request, from the proxy's log; where the client reports
    // its own connection (its local port), the two views must agree.
    const auto lines = request_lines(w, steps.size());
    for (const auto& name : paid_steps) {
        const auto& s = steps.at(name);
        if (!s.contains("conn")) continue;
        INFO(name << ": " << s.dump());
        const auto client = client_of(lines.at(line_of(lines, s)));
        CHECK(client.substr(client.rfind(':') + 1) == s.at("conn").get<std::string>());
    }
    const auto stream_line = line_of(lines, steps.at("stream"));
    const auto stream_client = client_of(lines.at(stream_line));
    if (reuse == connection_reuse::same_connection) {
        INFO("stream: " << lines.at(stream_line).dump());
        CHECK(client_of(lines.at(line_of(lines, steps.at("after_stream")))) == stream_client);
    } else if (reuse == connection_reuse::later_request) {
        bool reused = false;
        for (auto i = stream_line + 1; i < lines.size(); ++i)
            reused = reused || client_of(lines[i]) == stream_client;
        INFO("stream: " << lines.at(stream_line).dump());
        CHECK(reused);
    }
    const auto& free = steps.at("free");
    INFO("free: " << free.dump());
    CHECK(free.at("status") == 200);
    CHECK(free.at("paid") == "");
    const auto& declined = steps.at("declined");
    INFO("declined: " << declined.dump());
    CHECK(declined.at("status") == 402);
    CHECK(starts_with(declined.at("decision"), "declined;"));
    CHECK(declined.at("paid") == "");

    // The ledger: exactly one paid row per paid answer (same tx, same amount) and the declined row.
    std::size_t declined_rows = 0;
    std::set<std::string> ledger_txs;
    auto rows = w.ledger(agent);
    for (const auto& row : rows) {
        INFO("ledger row: " << row.dump());
        if (row.at("status") == "declined") {
            ++declined_rows;
            continue;
        }
        CHECK(row.at("status") == "paid");
        auto tx = row.at("tx_hash").get<std::string>();
        ledger_txs.insert(tx);
        REQUIRE(paid_by_tx.count(tx) == 1);
        CHECK(std::stoull(row.at("charged").get<std::string>()) == paid_by_tx.at(tx));
    }
    CHECK(declined_rows == 1);
    CHECK(rows.size() == paid_steps.size() + 1);
    CHECK(ledger_txs.size() == paid_by_tx.size());

    // The chain: the payer lost, and the payee gained, exactly what the client was told it paid.
    auto after = read_balances(w);
    REQUIRE(before.payer >= after.payer);
    CHECK(before.payer - after.payer == received_paid);
    CHECK(after.payee - before.payee == received_paid);
}

}  // namespace purser::test
