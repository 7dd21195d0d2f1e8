// One proxy of a fleet in an end-to-end test: the real `purser proxy` with its own store (its own
// agents and ledger) and proxy id, sharing the world's testnet and wallet and one PostgreSQL; and
// the fleet ledger's rows as the tests compare them with each proxy's own ledger.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "postgres_server.hpp"
#include "purser/fleet/pg.hpp"
#include "world.hpp"

namespace purser::test {

class fleet_node {
public:
    /// Its store lives in the world's directory under `id`, so a node made again with the same
    /// id is the same machine coming back.
    fleet_node(world& w, const postgres_server& pg, std::string id);

    /// `purser agent add NAME --unlimited`; returns (and keeps) its token.
    std::string add_agent(const std::string& name);
    /// Starts `purser proxy` with `extra` flags (the admin listener off).
    void start(const std::vector<std::string>& extra = {});
    /// Sends `sig` and returns the exit status.
    int stop(int sig);

    /// One GET of `url` through this proxy as `agent`.
    http_reply pay(const std::string& agent, const std::string& url) const;
    /// Status codes of `n` GETs of `url` ("?i=K" appended) by one curl process, one after another,
    /// through this proxy as `agent`; "000" for a request with no answer.
    std::vector<std::string> pay_sequentially(const std::string& agent, const std::string& url, int n) const;

    /// The purser CLI on this node's store and fleet settings.
    run_result purser(std::vector<std::string> args) const;
    /// This node's own ledger: row id -> status.
    std::map<std::uint64_t, std::string> local_ledger() const;

    const std::string& id() const { return id_; }
    const env_map& env() const { return env_; }
    std::string output() const;

private:
    world& w_;
    std::string id_;
    env_map env_;
    std::map<std::string, std::string> tokens_;
    std::unique_ptr<process> proxy_;
    std::string address_;
    int starts_ = 0;
};

/// A connection to the test's PostgreSQL; throws when it cannot connect.
std::unique_ptr<fleet::connection> connect(const postgres_server& pg);

/// The fleet ledger's rows of one proxy: row id -> status, and how many rows in all (a duplicate
/// would make the count exceed the map).
struct shipped_rows {
    std::map<std::uint64_t, std::string> rows;
    std::size_t count = 0;
};
shipped_rows fleet_rows(fleet::connection& c, const std::string& proxy_id);

/// Polls until the fleet ledger holds exactly `want` for `proxy_id` (shipping is in the
/// background), at most `limit`.
bool wait_for_fleet(fleet::connection& c, const std::string& proxy_id,
                    const std::map<std::uint64_t, std::string>& want, std::chrono::seconds limit);

/// `purser fleet migrate` against the test's PostgreSQL.
run_result migrate_fleet(const world& w, const postgres_server& pg);

}  // namespace purser::test
