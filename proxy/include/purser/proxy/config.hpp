// The proxy's configuration: parsed once from a JSON file, PURSER_* environment variables and
// command-line flags (flags > environment > file > defaults), validated, then shared read-only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "purser/protocol/result.hpp"

namespace purser::proxy {

/// What to do with a request header whose name contains '_' (nginx drops them by default): a
/// backend that maps '_' to '-' would read a different header than the proxy checked.
enum class underscore_policy { drop, reject, allow };

/// The `fleet` section (issue 14): many proxies share budgets and ship their ledger rows through
/// PostgreSQL. Unset `database` = no fleet: no outbox is kept, nothing is shipped, and agents draw
/// on no fleet budget. The `fleet.*` rows of proxy/src/config.cpp parse it.
struct fleet_settings {
    /// libpq connection string or URI (file key fleet.database, env PURSER_FLEET_DB). Its
    /// password, if any, belongs in password_file, not here.
    std::string database;
    /// File holding the database password (fleet.password_file, PURSER_FLEET_PASSWORD_FILE).
    std::optional<std::filesystem::path> password_file;
    /// This proxy's name in the fleet (fleet.proxy_id, PURSER_FLEET_PROXY_ID); default the
    /// host name. It must stay the same across restarts of the same store (leases and the fleet
    /// ledger are keyed by proxy id) and differ between stores.
    std::string proxy_id;
    /// Agent name (or "*" for every agent not listed) -> the fleet budgets it draws from. A
    /// payment needs lease headroom in each of them.
    std::map<std::string, std::vector<std::string>> budgets;
    std::uint64_t lease_min_micros = 100'000;     ///< Smallest lease asked for ($0.10).
    std::uint64_t lease_max_micros = 10'000'000;  ///< Largest lease asked for ($10).

    [[nodiscard]] bool enabled() const { return !database.empty(); }
    bool operator==(const fleet_settings&) const = default;
    /// The budgets `agent` draws from: its own entry, else "*", else none.
    [[nodiscard]] const std::vector<std::string>& budgets_of(const std::string& agent) const;
};

/// Every option; proxy/README.md has the table. Names match the JSON keys; the environment
/// variable is PURSER_<KEY> upper-cased, the flag is --<key> with '_' spelled '-'.
struct config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8402;                 ///< 0 picks a free port.
    unsigned threads = 0;                             ///< I/O threads; 0 = hardware cores.
    std::optional<std::string> default_agent;         ///< Agent for requests without credentials.
    bool allow_unauthenticated = false;               ///< Permit default_agent on a listener
                                                      ///< that is not loopback.
    std::size_t max_connections = 10'000;             ///< Client connections served at once;
                                                      ///< past it, accepting pauses.
    std::size_t max_replay_body = 8u << 20;           ///< Request bytes buffered for a paid replay.
    std::size_t max_header_bytes = 64u << 10;         ///< Request and response header limit.
    std::size_t max_402_body = 1u << 20;              ///< 402 body bytes buffered for the hook.
    std::uint64_t idle_timeout_ms = 60'000;           ///< Client keep-alive wait, tunnel silence,
                                                      ///< and silence inside a streamed body.
    std::uint64_t upstream_timeout_ms = 30'000;       ///< Connect, TLS handshake, send, and wait
                                                      ///< for the response head.
    std::uint64_t shutdown_grace_ms = 10'000;         ///< In-flight time allowed after SIGTERM.
    std::size_t pool_idle_per_origin = 32;            ///< Idle upstream connections kept per
                                                      ///< origin, shared by all agents.
    std::vector<std::filesystem::path> upstream_ca;   ///< Extra trust anchors for upstream TLS.
    std::vector<std::string> intercept{"*"};          ///< CONNECT hosts whose TLS is intercepted.
    std::vector<std::string> no_intercept;            ///< ...except these (tunnelled as bytes).
    std::filesystem::path ca_dir;                     ///< Default PURSER_HOME/ca.
    /// Request header names with '_'. Look-alikes of Content-Length and Transfer-Encoding are
    /// refused whatever this says.
    underscore_policy underscore_headers = underscore_policy::drop;
    std::vector<std::string> allow_get_body_hosts;    ///< Hosts where GET/HEAD may carry a body.
    std::string log = "-";                            ///< JSON-lines access log path; "-" = stderr.
    bool no_payments = false;                         ///< Never pay: every 402 passes through.
    std::filesystem::path store_dir;                  ///< Default PURSER_HOME/store.
    /// The most the store may grow to (it grows by itself up to here); a warning at 80 %.
    std::uint64_t store_max_size = std::uint64_t{1} << 30;
    /// One durable commit per payment step instead of grouping concurrent ones (the paid-path
    /// benchmark's baseline; there is no other reason to set it).
    bool no_group_commit = false;
    /// With at least 5 payments in flight, a group commit waits up to this many microseconds for
    /// their store operations to join it: one device flush for more of them (store.hpp,
    /// open_options::commit_delay_us). 0 (the default) never waits: the wait is added to the
    /// latency of payments whose merchant answers in a millisecond or two (bench/results/
    /// 2026-12-04-linger.md), and pays only when flushes bound the proxy.
    std::uint32_t store_commit_delay_us = 0;
    std::filesystem::path keystore;                   ///< Default PURSER_HOME/keystore.json.
    std::optional<std::filesystem::path> wallet_password_file;  ///< Wallet password file.
    /// testnet.env of a local testnet (`purser testnet up`): pay on its chain and ask its RPC
    /// whether payments settled. Unset, the testnet's chain is never paid.
    std::optional<std::filesystem::path> testnet_env;
    /// Options of the payment flow, passed through unvalidated here (must be a JSON object);
    /// the payment flow validates its own keys.
    nlohmann::json payment = nlohmann::json::object();
    /// The admin listener (health, readiness, metrics, JSON API), "HOST:PORT"; "off" = none.
    std::string admin_listen = "127.0.0.1:8403";
    /// File holding the admin API's bearer token (else PURSER_ADMIN_TOKEN, read by the CLI).
    std::optional<std::filesystem::path> admin_token_file;
    /// `fleet.*` keys: a `fleet` object in the file; PURSER_FLEET_DB, PURSER_FLEET_PASSWORD_FILE,
    /// PURSER_FLEET_PROXY_ID, ... in the environment; --fleet-database, ... as flags.
    fleet_settings fleet;
    /// Where each key's value came from: "file:PATH", "env:PURSER_X" or "flag:--x" (the last
    /// source that set it, by precedence). A key that is not here has its default.
    std::map<std::string, std::string> origin;
};

/// Where option values come from. `env` looks a variable up (std::getenv in production, a map in
/// tests). `flags` maps a flag name without dashes ("max-replay-body") to its values in order; a
/// list option takes every value, a scalar the last.
struct config_sources {
    std::optional<std::filesystem::path> file;
    std::function<std::optional<std::string>(const std::string&)> env;
    std::map<std::string, std::vector<std::string>> flags;
    std::filesystem::path purser_home;  ///< Base of the ca_dir/store_dir/keystore defaults.
};

/// The flag names load_config understands (without dashes), for the CLI's option parser.
/// `valued` take a value; `switches` take none.
[[nodiscard]] const std::vector<std::string>& config_flag_names();
[[nodiscard]] const std::vector<std::string>& config_switch_names();

/// One effective setting as `purser config show` prints it.
struct setting {
    std::string key;        ///< The config file key ("store_dir").
    std::string env;        ///< Its environment variable ("PURSER_STORE_DIR").
    nlohmann::json value;   ///< The effective value (null when unset); null for a secret.
    std::string source;     ///< "default", "file:PATH", "env:PURSER_X" or "flag:--x".
    bool secret = false;    ///< Never printed: shown as "(set, from SOURCE)".
};

/// Every key of `c` in table order, with its effective value and where it came from.
[[nodiscard]] std::vector<setting> describe_config(const config& c);

/// The environment variable of a config key: "PURSER_" and the key upper-cased, '.' as '_'
/// ("store_dir" -> "PURSER_STORE_DIR"), except where a key keeps a name users already set
/// ("fleet.database" -> "PURSER_FLEET_DB", the budget CLI's variable). Every key has one.
[[nodiscard]] std::string env_name(std::string_view key);

/// The config key of a flag name without dashes ("store-dir" -> "store_dir", "fleet-proxy-id"
/// -> "fleet.proxy_id"); the flag itself when no key has it.
[[nodiscard]] std::string config_key(std::string_view flag);

/// Builds the config. Errors: config_file (unreadable, not JSON, not an object), unknown_option
/// (a file key or flag Purser does not know; the detail names it), invalid_option (wrong type,
/// bad number, out of range, bad listen address; the detail names the option and its source;
/// default_agent on a listener that is not loopback without allow_unauthenticated, since anyone
/// who reaches the port could then spend that agent's budget).
[[nodiscard]] result<std::shared_ptr<const config>> load_config(const config_sources& sources);

/// True for a listen host only this machine can reach: 127.0.0.0/8, ::1 (also as
/// ::ffff:127.x.y.z) and "localhost". "0.0.0.0" and "::" (every interface) are not.
[[nodiscard]] bool is_loopback_host(const std::string& host);

/// Splits "HOST:PORT" / "[V6]:PORT". Errors: invalid_option.
[[nodiscard]] result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text);

}  // namespace purser::proxy
