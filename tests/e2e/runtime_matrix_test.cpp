// The runtime matrix (issue 16): each client runtime of the README's table, configured as a user
// would, does the same steps end to end through the real proxy binary against the testnet: paid
// HTTP and HTTPS GETs, paid POSTs with a JSON body and with 1,000,000 bytes (both must come back
// intact from /echo after the paid retry), a paid SSE stream and a paid call after it on the same
// client (the proxy's access log shows which connection carried it: connection_reuse), a free
// route and a declined call. Then the ledger and the chain must match exactly the paid answers
// the client received.
#include "runtime_matrix.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>

using namespace purser::test;

namespace {

const std::string agent = "matrix";

// Adds the capped agent and starts the proxy (`extra` flags appended); returns the agent's token.
std::string start(world& w, const std::vector<std::string>& extra = {}) {
    auto token = w.add_agent(agent, matrix_limits);
    w.start_proxy(extra);
    return token;
}

// The two merchant bases every agent script takes last.
std::vector<std::string> with_merchants(std::vector<std::string> argv, const world& w) {
    argv.push_back(w.env("PURSER_TESTNET_MERCHANT_HTTP"));
    argv.push_back(w.env("PURSER_TESTNET_MERCHANT_HTTPS"));
    return argv;
}

// Runs `argv` + merchants in a fresh world and checks everything. `env_for` gives the client's
// environment (by default the user's: proxy variables and `purser ca env`).
void run_matrix(
    const std::vector<std::string>& argv, connection_reuse reuse,
    const std::function<env_map(world&, const std::string& token)>& env_for =
        [](world& w, const std::string& token) { return user_env(w, agent, token); },
    const std::vector<std::string>& proxy_flags = {}) {
    world w;
    auto token = start(w, proxy_flags);
    auto env = env_for(w, token);
    auto before = read_balances(w);
    auto steps = run_agent(with_merchants(argv, w), env);
    check_matrix(w, agent, steps, before, reuse);
}

void python_client(const std::string& client, const std::string& module, connection_reuse reuse) {
    require_python_module(module);
    run_matrix({"/usr/bin/python3", runtime_script("agent.py"), client}, reuse);
}

void node_client(const std::string& client, connection_reuse reuse) {
    const auto modules = npm_modules();
    run_matrix({"node", runtime_script("agent.cjs"), client}, reuse,
               [&](world& w, const std::string& token) {
                   auto env = user_env(w, agent, token);
                   env["NODE_PATH"] = modules;
                   return env;
               });
}

}  // namespace

TEST_CASE("runtime matrix: curl with http_proxy/https_proxy and CURL_CA_BUNDLE", "[e2e][matrix]") {
    require_program("curl");
    run_matrix({"bash", runtime_script("agent.sh"), "curl"}, connection_reuse::same_connection);
}

TEST_CASE("runtime matrix: wget with http_proxy/https_proxy and ca_certificate in WGETRC",
          "[e2e][matrix]") {
    require_program("wget");
    run_matrix({"bash", runtime_script("agent.sh"), "wget"}, connection_reuse::same_connection,
               [](world& w, const std::string& token) {
                   // wget reads no CA variable: a user puts `ca_certificate` in ~/.wgetrc; WGETRC
                   // names ours.
                   auto rc = w.dir() / "wgetrc";
                   std::ofstream(rc) << "ca_certificate = " << w.ca_file() << "\n";
                   auto env = user_env(w, agent, token);
                   env["WGETRC"] = rc.string();
                   return env;
               });
}

TEST_CASE("runtime matrix: Python requests (Session)", "[e2e][matrix]") {
    python_client("requests", "requests", connection_reuse::same_connection);
}

TEST_CASE("runtime matrix: Python httpx (Client)", "[e2e][matrix]") {
    python_client("httpx", "httpx", connection_reuse::same_connection);
}

TEST_CASE("runtime matrix: Python httpx (AsyncClient)", "[e2e][matrix]") {
    python_client("httpx-async", "httpx", connection_reuse::same_connection);
}

TEST_CASE("runtime matrix: Python aiohttp (ClientSession(trust_env=True))", "[e2e][matrix]") {
    python_client("aiohttp", "aiohttp", connection_reuse::same_connection);
}

// urlopen sends `Connection: close`: every request is a new proxy connection.
TEST_CASE("runtime matrix: Python urllib", "[e2e][matrix]") {
    python_client("urllib", "urllib.request", connection_reuse::none);
}

// undici keeps a pool of proxy connections and takes them in turn: the stream's connection carries
// a later request, not necessarily the next one.
TEST_CASE("runtime matrix: Node undici EnvHttpProxyAgent", "[e2e][matrix]") {
    node_client("undici", connection_reuse::later_request);
}

// axios through a proxy opens a new proxy connection for every request.
TEST_CASE("runtime matrix: Node axios", "[e2e][matrix]") {
    node_client("axios", connection_reuse::none);
}

TEST_CASE("runtime matrix: Go net/http with an explicit Transport.Proxy and SSL_CERT_FILE",
          "[e2e][matrix]") {
    require_program("go");
    run_matrix({"go", "run", runtime_script("agent.go")}, connection_reuse::same_connection,
               [](world& w, const std::string& token) {
                   auto env = ca_env(w);
                   env["HTTPS_PROXY"] = w.proxy_url(agent, token);
                   // Standard library only: nothing may be fetched; the build cache stays in the
                   // build tree.
                   env["GOPROXY"] = "off";
                   env["GOFLAGS"] = "";
                   env["GOCACHE"] = std::string(PURSER_SOURCE_DIR) + "/build/go-cache";
                   return env;
               });
}

TEST_CASE("runtime matrix: Java HttpClient through a --default-agent sidecar", "[e2e][matrix]") {
    require_program("java");
    require_program("keytool");
    world w;
    // HttpClient sends no proxy credentials without code (and never Basic on a CONNECT tunnel):
    // the sidecar's default agent needs none.
    start(w, {"--default-agent", agent});
    // Java's trust store is a key store, not PEM: keytool imports Purser's CA.
    const auto trust = (w.dir() / "trust.p12").string();
    auto imported =
        run({"keytool", "-importcert", "-noprompt", "-alias", "purser", "-file", w.ca_file(),
             "-keystore", trust, "-storetype", "PKCS12", "-storepass", "purser-matrix"});
    INFO(imported.out << imported.err);
    REQUIRE(imported.exit_code == 0);
    const auto& address = w.proxy_address();
    const auto host = address.substr(0, address.rfind(':'));
    const auto port = address.substr(address.rfind(':') + 1);
    auto before = read_balances(w);
    auto steps =
        run_agent(with_merchants({"java", "-Dhttp.proxyHost=" + host, "-Dhttp.proxyPort=" + port,
                                  "-Dhttps.proxyHost=" + host, "-Dhttps.proxyPort=" + port,
                                  // Empty, not unset: the default skips localhost|127.*.
                                  "-Dhttp.nonProxyHosts=", "-Djavax.net.ssl.trustStore=" + trust,
                                  "-Djavax.net.ssl.trustStorePassword=purser-matrix",
                                  runtime_script("Agent.java")},
                                 w),
                  {});
    check_matrix(w, agent, steps, before, connection_reuse::same_connection);
}
