// `purser testnet up | mint | down` as a user runs them, and `purser wallet balance --rpc`
// against it: a minted balance shows, and survives a restart of the testnet.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

std::string bin() {
    const char* b = std::getenv("PURSER_BIN");
    return b != nullptr ? b : PURSER_BIN;
}

std::string run(const std::string& cmd, int* status = nullptr) {
    auto r = purser::test::run_shell(cmd + " 2>&1");
    if (status != nullptr) *status = r.exit_code;
    return r.out;
}

std::string env_value(const fs::path& dir, const std::string& key) {
    const std::string text = purser::test::read_file(dir / "testnet.env");
    const std::string prefix = "export " + key + "='";
    auto pos = text.find(prefix);
    REQUIRE(pos != std::string::npos);
    pos += prefix.size();
    return text.substr(pos, text.find('\'', pos) - pos);
}

// Starts `purser testnet up` in the background and waits until it reports readiness.
void up(const fs::path& dir) {
    fs::remove(dir / "testnet.env");
    const fs::path log = dir.string() + ".log";
    // The shell truncates the log in the background: remove it first, or the previous run's
    // "testnet.env" line could be read before the truncation.
    fs::remove(log);
    REQUIRE(std::system((bin() + " testnet up --dir " + dir.string() + " --base-port 0 > " + log.string() +
                         " 2>&1 &").c_str()) == 0);
    for (int i = 0; i < 1200; ++i) {
        if (purser::test::read_file(log).find("testnet.env") != std::string::npos) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("testnet did not come up: " << purser::test::read_file(log));
}

}  // namespace

TEST_CASE("testnet mint shows in purser wallet balance and survives a restart", "[testnet]") {
    purser::test::temp_dir tmp;
    const fs::path dir = tmp.path() / "tn";
    fs::create_directories(dir);
    up(dir);
    const std::string who = "0x000000000000000000000000000000000000dEaD";
    int rc = 0;
    auto minted = run(bin() + " testnet mint --dir " + dir.string() + " --to " + who + " --amount 12.5", &rc);
    INFO(minted);
    REQUIRE(rc == 0);
    CHECK(minted.find("minted 12.5 USDC") != std::string::npos);

    auto balance = [&] {
        const std::string rpc = env_value(dir, "PURSER_TESTNET_RPC");
        return run(bin() + " wallet balance --rpc " + rpc + " --address " + who);
    };
    auto before = balance();
    INFO(before);
    CHECK(before.find("12500000 atomic") != std::string::npos);

    // Bad input is refused and changes nothing.
    auto bad = run(bin() + " testnet mint --dir " + dir.string() + " --to " + who + " --amount 1.0000001", &rc);
    CHECK(rc != 0);

    REQUIRE(run(bin() + " testnet down --dir " + dir.string(), &rc).find("stopped") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "testnet.pid"));
    up(dir);
    auto after = balance();
    INFO(after);
    CHECK(after.find("12500000 atomic") != std::string::npos);
    // The payer was funded once, not again on restart.
    auto payer = run(bin() + " wallet balance --rpc " + env_value(dir, "PURSER_TESTNET_RPC") + " --keystore " +
                     env_value(dir, "PURSER_TESTNET_KEYSTORE"));
    CHECK(payer.find("1000000000 atomic") != std::string::npos);
    run(bin() + " testnet down --dir " + dir.string(), &rc);
    CHECK(rc == 0);
}
