// SIGTERM while paid requests are in flight: they complete, and the ledger has no open rows.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include <fstream>
#include <sstream>

#include "world.hpp"

using purser::test::world;

TEST_CASE("SIGTERM during load: in-flight requests complete, no reserved rows remain", "[e2e]") {
    world w;
    auto token = w.add_agent("busy");
    w.start_proxy();
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/stream";
    auto config = w.dir() / "curl.cfg";
    {
        std::ofstream cfg(config);
        for (int i = 0; i < 8; ++i) {
            cfg << "url = \"" << url << "?i=" << i << "\"\noutput = \"" << (w.dir() / ("out" + std::to_string(i))).string()
                << "\"\nwrite-out = \"%{http_code}\\n\"\n";
        }
    }
    purser::test::process load({"curl", "-sS", "-N", "--parallel", "--parallel-immediate", "--max-time", "120",
                                "-x", w.proxy_url("busy", token), "-K", config.string()},
                               {}, w.dir() / "logs", "load");
    // Wait until every stream has delivered its first event, then ask the proxy to stop.
    for (int i = 0; i < 8; ++i) {
        auto out = w.dir() / ("out" + std::to_string(i));
        for (int t = 0; t < 600; ++t) {
            if (purser::test::count_lines(purser::test::read_file(out), "data:") > 0) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    CHECK(w.stop_proxy() == 0);
    REQUIRE(load.wait_exit(std::chrono::seconds(120)) == 0);
    std::istringstream codes(load.output());
    std::string code;
    int ok = 0;
    while (std::getline(codes, code)) ok += code == "200" ? 1 : 0;
    CHECK(ok == 8);
    for (int i = 0; i < 8; ++i) {
        auto body = purser::test::read_file(w.dir() / ("out" + std::to_string(i)));
        CHECK(purser::test::count_lines(body, "data:") >= 3);
    }
    auto rows = w.ledger("busy");
    CHECK(rows.size() == 8);
    for (const auto& row : rows) CHECK(row["status"] == "paid");
    // After shutdown nothing is left merely reserved.
    auto reserved = w.purser({"ledger", "--status", "reserved", "--format", "json"});
    CHECK(reserved.out.empty());
}
