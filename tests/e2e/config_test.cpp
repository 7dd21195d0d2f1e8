// One configuration for every command: with a customised store_dir in the proxy's config file,
// `purser agent ... --config FILE` acts on the store the running proxy reads (issue 13's bug: a
// freeze written to PURSER_HOME/store silently did nothing).
#include <catch2/catch.hpp>

#include <cstdlib>

#include <fstream>
#include <regex>

#include "test_support.hpp"
#include "world.hpp"

using purser::test::world;

TEST_CASE("agent freeze with the proxy's config reaches the proxy's custom store", "[e2e]") {
    world w;
    const auto config = w.dir() / "purser.json";
    const auto custom = w.dir() / "custom-store";
    const auto custom_ca = w.dir() / "custom-ca";
    std::ofstream(config) << R"({"store_dir": ")" << custom.string() << R"(", "ca_dir": ")"
                          << custom_ca.string() << R"("})";
    w.start_proxy({"--config", config.string()});

    auto added = w.purser({"agent", "add", "bot", "--per-request", "1", "--config", config.string()});
    REQUIRE(added.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(added.out, m, std::regex("bot:([0-9a-fA-F]{32,})@")));
    const std::string token = m[1].str();
    // The agent lives in the custom store only.
    CHECK(w.purser({"agent", "show", "bot"}).exit_code != 0);
    CHECK(w.purser({"agent", "show", "bot", "--config", config.string()}).exit_code == 0);

    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    auto paid = w.via_proxy("bot", token, {url});
    CHECK(paid.status == 200);

    auto frozen = w.purser({"agent", "freeze", "bot", "--config", config.string()});
    REQUIRE(frozen.exit_code == 0);
    auto declined = w.via_proxy("bot", token, {url});
    CHECK(declined.status == 402);
    CHECK(declined.header("purser-decision").value_or("").find("reason=agent_frozen") !=
          std::string::npos);
    // PURSER_CONFIG works as --config does (the child inherits this process's environment).
    ::setenv("PURSER_CONFIG", config.string().c_str(), 1);
    auto rows = w.purser({"ledger", "--agent", "bot", "--format", "json"});
    // The CA the proxy created in the configured ca_dir is the one `purser ca` reads.
    auto ca = w.purser({"ca", "export"});
    ::unsetenv("PURSER_CONFIG");
    CHECK(rows.out.find("agent_frozen") != std::string::npos);
    CHECK(rows.out.find("\"status\":\"paid\"") != std::string::npos);
    REQUIRE(ca.exit_code == 0);
    CHECK(ca.out == purser::test::read_file(custom_ca / "ca.crt"));
    CHECK_FALSE(std::filesystem::exists(w.dir() / "home" / "ca" / "ca.crt"));
}
