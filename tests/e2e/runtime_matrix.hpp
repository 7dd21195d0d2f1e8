// The runtime matrix (issue 16): one agent script per client runtime (tests/e2e/runtimes/) runs the
// same steps through the real proxy against the testnet and prints one JSON line per step; these
// helpers give it a user's configuration and judge what it received against the ledger and chain.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "world.hpp"

namespace purser::test {

/// Step name -> the JSON line the agent script printed for it.
using matrix_steps = std::map<std::string, nlohmann::json>;

/// Path of tests/e2e/runtimes/<name>.
std::string runtime_script(const std::string& name);

/// Fails the test, naming scripts/install-deps.sh, when `program` is not on PATH: CI installs every
/// runtime, so a missing one is a broken setup, not a skip.
void require_program(const std::string& program);
/// The same for a Python module of Debian's /usr/bin/python3.
void require_python_module(const std::string& module);

/// NODE_PATH holding undici@6 and axios@1, installed once per build tree (flock: ctest runs tests
/// in parallel).
std::string npm_modules();

/// What a user sets: the four proxy variables `agent add` prints, NO_PROXY empty, and the trust
/// variables of `purser ca env`.
env_map user_env(world& w, const std::string& agent, const std::string& token);
/// The trust variables only (`purser ca env`), for a client that gets its proxy elsewhere.
env_map ca_env(world& w);

/// Runs an agent script to completion; the steps it reported (it must report each exactly once).
matrix_steps run_agent(const std::vector<std::string>& argv, const env_map& env);

/// Per-request cap of every matrix agent: the `declined` step asks for /premium at $5.
inline const std::vector<std::string> matrix_limits{"--per-request", "1"};

/// What a runtime does with its proxy connection after a streamed response.
enum class connection_reuse {
    none,             ///< a new proxy connection per request (urllib, axios)
    same_connection,  ///< the next request goes on the stream's connection
    later_request,    ///< a pool of connections: a later request goes on the stream's (undici)
};

struct balances {
    std::uint64_t payer = 0;
    std::uint64_t payee = 0;
};
balances read_balances(const world& w);

/// Checks every step, the connection the proxy's access log shows after the stream (`reuse`; and
/// where a client reports its connection, `conn`, its local port, it must match the log), then the
/// money: the agent's ledger rows and the payer's and payee's on-chain balance changes match
/// exactly the paid answers the client received. `before`: the balances read before the agent ran.
void check_matrix(const world& w, const std::string& agent, const matrix_steps& steps,
                  const balances& before, connection_reuse reuse);

}  // namespace purser::test
