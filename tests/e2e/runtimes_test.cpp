// Real agent runtimes, configured the way a user would: environment variables only.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include <fstream>
#include <sstream>

#include "world.hpp"

using purser::test::world;

namespace {

// `purser ca env` prints `export NAME=VALUE` lines for the trust settings of common runtimes.
purser::test::env_map ca_env(world& w) {
    auto r = w.purser({"ca", "env"});
    REQUIRE(r.exit_code == 0);
    auto file = w.dir() / "ca.env";
    std::ofstream(file) << r.out;
    return purser::test::read_env_file(file);
}

}  // namespace

TEST_CASE("a Python requests agent pays an HTTPS call with HTTPS_PROXY and REQUESTS_CA_BUNDLE", "[e2e]") {
    world w;
    auto token = w.add_agent("py-agent");
    w.start_proxy();
    auto env = ca_env(w);
    REQUIRE(env.count("REQUESTS_CA_BUNDLE") == 1);
    env["HTTPS_PROXY"] = w.proxy_url("py-agent", token);
    env["NO_PROXY"] = "";
    auto r = purser::test::run(
        {"/usr/bin/python3", "-c",
         "import os,requests,sys\n"
         "r=requests.get(sys.argv[1],timeout=60)\n"
         "print(r.status_code)\n"
         "print(r.headers.get('Purser-Paid',''))\n",
         w.env("PURSER_TESTNET_MERCHANT_HTTPS") + "/weather"},
        env);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.rfind("200\n", 0) == 0);
    CHECK(r.out.find("USDC") != std::string::npos);
    CHECK(w.ledger("py-agent").at(0)["status"] == "paid");
}

TEST_CASE("a Node agent (undici EnvHttpProxyAgent) pays an HTTPS call with NODE_EXTRA_CA_CERTS", "[e2e]") {
    if (purser::test::which("node").empty() || purser::test::which("npm").empty()) {
        FAIL("node and npm are required (scripts/install-deps.sh installs them)");
    }
    world w;
    auto token = w.add_agent("node-agent");
    w.start_proxy();

    // undici from the npm registry, installed once per build tree (flock: tests run in parallel).
    const std::string npm_dir = std::string(PURSER_SOURCE_DIR) + "/build/npm-undici";
    auto install = purser::test::run(
        {"flock", npm_dir + ".lock", "sh", "-c",
         "mkdir -p '" + npm_dir + "' && cd '" + npm_dir + "' && "
         "([ -d node_modules/undici ] || npm install --no-audit --no-fund --silent undici@6 >/dev/null)"},
        {}, std::chrono::seconds(300));
    INFO(install.err);
    REQUIRE(install.exit_code == 0);

    auto env = ca_env(w);
    REQUIRE(env.count("NODE_EXTRA_CA_CERTS") == 1);
    env["HTTPS_PROXY"] = w.proxy_url("node-agent", token);
    env["NODE_PATH"] = npm_dir + "/node_modules";
    auto script = w.dir() / "agent.cjs";
    std::ofstream(script) << "const { EnvHttpProxyAgent, setGlobalDispatcher, fetch } = require('undici');\n"
                             "setGlobalDispatcher(new EnvHttpProxyAgent());\n"
                             "fetch(process.argv[2]).then(async (r) => {\n"
                             "  console.log(r.status);\n"
                             "  console.log(r.headers.get('purser-paid') || '');\n"
                             "  await r.text();\n"
                             "}).catch((e) => { console.error(e); process.exit(1); });\n";
    auto r = purser::test::run({"node", script.string(), w.env("PURSER_TESTNET_MERCHANT_HTTPS") + "/weather"}, env);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.rfind("200\n", 0) == 0);
    CHECK(r.out.find("USDC") != std::string::npos);
    CHECK(w.ledger("node-agent").at(0)["status"] == "paid");
}
