#include "command_table.hpp"

#include <iostream>
#include <map>
#include <set>

#include "purser/proxy/config.hpp"

namespace purser::cli {
namespace {

const option_spec keystore_opt{"keystore", "FILE", "the encrypted wallet key",
                               "PURSER_HOME/keystore.json", "PURSER_KEYSTORE"};
const option_spec rpc_opt{"rpc", "URL", "JSON-RPC endpoint of the chain", "", "PURSER_TESTNET_RPC"};
const option_spec address_opt{"address", "ADDR", "use this address instead of the keystore's", "",
                              ""};
const option_spec format_opt{"format", "table|csv|json", "output format", "table", ""};
const option_spec testnet_dir_opt{"dir", "D", "testnet directory", "PURSER_HOME/testnet", ""};
/// The one configuration file every command that touches the wallet, store or CA reads, so it
/// acts on the paths the running proxy uses (cli/config_resolver.hpp).
const option_spec config_opt{"config", "FILE", "config file (JSON; `purser config show` prints "
                             "what is in effect)", "", "PURSER_CONFIG"};

/// The limits `agent add` and `agent set` take (USD amounts like 5 or 0.10; "none" removes).
std::vector<option_spec> limit_options() {
    return {
        {"per-request", "USD", "most one payment may cost", "", ""},
        {"daily", "USD", "cap per UTC day", "", ""},
        {"monthly", "USD", "cap per UTC month", "", ""},
        {"lifetime", "USD", "cap over the agent's life", "", ""},
        {"allowance", "USD", "prepaid allowance (spending draws it down)", "", ""},
        {"in-flight", "USD", "cap on signed payments not yet settled", "", ""},
        {"rate", "N", "payments per minute", "", ""},
        {"allow-host", "P", "only these hosts (host or *.suffix; repeatable)", "", ""},
        {"deny-host", "P", "never these hosts (repeatable)", "", ""},
        {"allow-network", "N", "only these networks, CAIP-2 id or v1 name (repeatable)", "", ""},
        {"allow-asset", "A", "only these token addresses (repeatable)", "", ""},
    };
}

/// Defaults of the proxy options, as proxy/README.md lists them.
const std::map<std::string, std::string>& proxy_defaults() {
    static const std::map<std::string, std::string> d = {
        {"listen", "127.0.0.1:8402"},
        {"threads", "0 (one per core)"},
        {"max-connections", "10000"},
        {"max-replay-body", "8388608"},
        {"max-header-bytes", "65536"},
        {"max-402-body", "1048576"},
        {"idle-timeout-ms", "60000"},
        {"upstream-timeout-ms", "30000"},
        {"shutdown-grace-ms", "10000"},
        {"pool-idle-per-origin", "32"},
        {"intercept", "*"},
        {"underscore-headers", "drop"},
        {"ca-dir", "PURSER_HOME/ca"},
        {"log", "- (stderr)"},
        {"store-dir", "PURSER_HOME/store"},
        {"store-max-size", "1073741824"},
        {"store-commit-delay-us", "0"},
        {"keystore", "PURSER_HOME/keystore.json"},
        {"admin-listen", "127.0.0.1:8403"},
        {"fleet-proxy-id", "the host name"},
        {"fleet-lease-min", "0.1"},
        {"fleet-lease-max", "10"},
    };
    return d;
}

/// Placeholder and one line of help per proxy option; proxy/README.md has the full text.
const std::map<std::string, std::pair<std::string, std::string>>& proxy_help() {
    static const std::map<std::string, std::pair<std::string, std::string>> h = {
        {"listen", {"HOST:PORT", "address to listen on; port 0 picks a free one"}},
        {"threads", {"N", "I/O threads"}},
        {"default-agent", {"NAME", "agent for requests without proxy credentials (sidecar)"}},
        {"allow-unauthenticated", {"", "permit --default-agent on a non-loopback address"}},
        {"max-connections", {"N", "client connections served at once"}},
        {"max-replay-body", {"BYTES", "request body buffered for a byte-identical paid retry"}},
        {"max-header-bytes", {"BYTES", "request and response header limit (431 / 502 past it)"}},
        {"max-402-body", {"BYTES", "402 body buffered for the payment decision"}},
        {"idle-timeout-ms", {"MS", "idle client, silent tunnel, pause inside a streamed body"}},
        {"upstream-timeout-ms", {"MS", "connect, TLS, send and response head (504 past it)"}},
        {"shutdown-grace-ms", {"MS", "time in-flight requests get after SIGTERM"}},
        {"pool-idle-per-origin", {"N", "idle upstream connections kept per origin"}},
        {"upstream-ca", {"FILE", "extra PEM trust anchors for upstream TLS (repeatable)"}},
        {"intercept", {"PATTERN", "CONNECT hosts whose TLS is intercepted (repeatable)"}},
        {"no-intercept", {"PATTERN", "hosts tunnelled as bytes anyway (repeatable)"}},
        {"underscore-headers", {"drop|reject|allow", "request header names with '_'"}},
        {"allow-get-body-hosts", {"PATTERN", "hosts where GET/HEAD may carry a body (repeatable)"}},
        {"ca-dir", {"DIR", "the interception CA (created when missing)"}},
        {"log", {"FILE|-|stdout", "JSON-lines access log (- is stderr)"}},
        {"no-payments", {"", "never pay: every 402 passes through"}},
        {"store-dir", {"DIR", "the LMDB store of agents and the ledger"}},
        {"store-max-size", {"BYTES", "the most the store may grow to (warning at 80%)"}},
        {"no-group-commit", {"", "one durable commit per payment step (benchmark baseline)"}},
        {"store-commit-delay-us",
         {"US", "with 5+ payments in flight, how long a group commit waits for them (0: never)"}},
        {"keystore", {"FILE", "the wallet keystore unlocked at start-up"}},
        {"wallet-password-file", {"FILE", "the keystore password"}},
        {"testnet-env", {"FILE", "pay on the local testnet (D/testnet.env) and trust its CA"}},
        {"payment", {"JSON", "payment-flow options: max_window_seconds, networks, rpc, ..."}},
        {"fleet", {"JSON", "ship the ledger to PostgreSQL: {database, password_file, proxy_id}"}},
        {"admin-listen", {"HOST:PORT|off", "admin listener: /healthz, /readyz, /metrics, JSON API"}},
        {"admin-token-file", {"FILE", "the admin API's bearer token (or PURSER_ADMIN_TOKEN)"}},
        {"fleet-database", {"URL", "fleet database (PostgreSQL) whose budgets agents draw on"}},
        {"fleet-password-file", {"FILE", "the fleet database's password"}},
        {"fleet-proxy-id", {"ID", "this proxy's name in the fleet (its leases and rows)"}},
        {"fleet-budgets", {"JSON", "agent (or *) -> fleet budgets it draws on"}},
        {"fleet-lease-min", {"USD", "smallest lease of a fleet budget asked for"}},
        {"fleet-lease-max", {"USD", "largest lease of a fleet budget asked for"}},
    };
    return h;
}

std::string env_of_flag(const std::string& flag) { return proxy::env_name(proxy::config_key(flag)); }

std::vector<option_spec> proxy_options() {
    std::vector<option_spec> out{config_opt};
    const auto& defaults = proxy_defaults();
    const auto& help = proxy_help();
    auto add = [&](const std::string& flag) {
        auto d = defaults.find(flag);
        auto h = help.find(flag);
        // An option without its line still shows, pointing at the full table
        // (tests/cli/help_test.cpp fails on it).
        out.push_back({flag, h == help.end() ? "V" : h->second.first,
                       h == help.end() ? "see proxy/README.md" : h->second.second,
                       d == defaults.end() ? "" : d->second, env_of_flag(flag)});
    };
    for (const auto& f : proxy::config_flag_names()) add(f);
    for (const auto& f : proxy::config_switch_names()) add(f);
    out.push_back({"detach", "", "run in the background; return once listening (log PURSER_HOME/proxy.log, "
                                 "pid PURSER_HOME/proxy.pid)", "", ""});
    return out;
}

std::vector<command_spec> build_table() {
    std::vector<command_spec> t;
    t.push_back({"proxy", "", "run the paying forward proxy",
                 "Every option can also come from the config file (same name with '_') or from\n"
                 "PURSER_<NAME>; flags win over the environment, which wins over the file.\n"
                 "SIGHUP re-reads the file. The full reference is proxy/README.md.\n",
                 proxy_options()});

    auto show_opts = proxy_options();  // what `purser proxy` would run with, those flags included
    show_opts.pop_back();              // --detach
    show_opts.push_back({"format", "table|json", "output format", "table", ""});
    t.push_back({"config show", "", "the effective configuration and where each value came from",
                 "Every key of the config file, its value and its source: default, file:PATH,\n"
                 "env:PURSER_<KEY> or flag:--<key> (flags > environment > file > defaults), plus\n"
                 "PURSER_HOME and the config file itself. Secrets are never printed: a password\n"
                 "set in the environment shows as \"(set, from env:...)\". The payment section\n"
                 "is validated as the proxy validates it. Takes every `purser proxy` option, so\n"
                 "`purser config show FLAGS` previews `purser proxy FLAGS`.\n",
                 show_opts});

    t.push_back({"wallet new", "", "create an encrypted key, print its address",
                 "The password comes from wallet_password_file (PURSER_WALLET_PASSWORD_FILE or the\n"
                 "config file), PURSER_WALLET_PASSWORD or a prompt (asked twice). An empty password\n"
                 "is refused.\n",
                 {keystore_opt, config_opt,
                  {"force", "", "replace an existing keystore (the old file is kept as "
                                "keystore.json.bak-<unix time>, mode 0600); refused when the "
                                "replaced wallet holds USDC on the --rpc chain", "", ""},
                  rpc_opt}});
    t.push_back({"wallet import", "", "import a raw key or another keystore",
                 "`--from-keystore` decrypts the source with PURSER_IMPORT_PASSWORD_FILE or\n"
                 "PURSER_IMPORT_PASSWORD when set, else with the wallet password.\n",
                 {keystore_opt, config_opt,
                  {"private-key-file", "F", "file holding 64 hex digits", "", ""},
                  {"from-keystore", "F", "an Ethereum v3 keystore", "", ""},
                  {"force", "", "replace an existing keystore (the old file is backed up); "
                                "refused when it holds USDC on the --rpc chain", "", ""},
                  rpc_opt}});
    t.push_back({"wallet address", "", "print the EIP-55 address (no password needed)", "",
                 {keystore_opt, config_opt}});
    t.push_back({"wallet balance", "", "token balance of the wallet", "",
                 {keystore_opt, config_opt, address_opt, rpc_opt,
                  {"network", "N", "network name or CAIP-2 id", "the RPC's chain", ""},
                  {"asset", "ADDR", "token address", "the network's USDC", ""}}});
    t.push_back({"wallet fund", "", "mint (local testnet) or wait for a deposit", "",
                 {keystore_opt, config_opt, address_opt, rpc_opt,
                  {"network", "N", "network name or CAIP-2 id", "the RPC's chain", ""},
                  {"asset", "ADDR", "token address", "the network's USDC", ""},
                  {"amount", "N", "token units, e.g. 100 (required)", "", ""},
                  {"timeout", "S", "seconds to wait for a deposit", "600", ""},
                  {"no-qr", "", "print the EIP-681 link without its QR code", "", ""}}});
    t.push_back({"wallet export", "", "print the private key (for migration)", "",
                 {keystore_opt, config_opt,
                  {"i-understand", "", "required: the key is printed in the clear", "", ""}}});

    // With the proxy's config file these commands act on the store the running proxy reads (its
    // store_dir) and print the address it listens on.
    const std::vector<option_spec> listen_opts{
        {"listen", "ADDR:PORT", "proxy address for the printed lines", "127.0.0.1:8402",
         "PURSER_LISTEN"},
        config_opt};
    auto add_opts = limit_options();
    add_opts.push_back({"unlimited", "", "no default limits (without any limit option, add sets "
                                         "per-request $0.10 and daily $1)", "", ""});
    add_opts.push_back({"exists-ok", "", "an agent of that name is no error: nothing changes, exit "
                                         "0 (a container's init step)", "", ""});
    add_opts.insert(add_opts.end(), listen_opts.begin(), listen_opts.end());
    t.push_back({"agent add", "NAME", "create an agent; prints its proxy credentials once", "",
                 add_opts});
    auto set_opts = limit_options();
    set_opts.push_back(config_opt);
    t.push_back({"agent set", "NAME", "change limits (\"none\" removes a limit or clears a list)",
                 "", set_opts});
    t.push_back({"agent show", "NAME", "policy, spending, allowance, in flight", "", {config_opt}});
    t.push_back({"agent list", "", "all agents", "", {config_opt}});
    t.push_back({"agent freeze", "NAME", "refuse every payment for the agent", "", {config_opt}});
    t.push_back({"agent unfreeze", "NAME", "allow payments again", "", {config_opt}});
    t.push_back({"agent remove", "NAME", "delete the agent and its token (ledger rows are kept)",
                 "Refused while the agent has payments that may still move money (reserved,\n"
                 "failed or in doubt): `purser ledger reconcile` settles them first.\n",
                 {config_opt}});
    t.push_back({"agent fund", "NAME", "add to the prepaid allowance", "",
                 {{"amount", "USD", "amount to add (required)", "", ""}, config_opt}});
    t.push_back({"agent rotate-token", "NAME", "new proxy token (the old one stops working)", "",
                 listen_opts});

    // The fleet database (issue 14): PostgreSQL, shared by every proxy of an organisation.
    const option_spec db_opt{"db", "URL", "fleet database (postgresql://user@host:port/db)", "",
                             "PURSER_FLEET_DB"};
    const option_spec db_password_opt{"db-password-file", "FILE", "file holding the database password",
                                      "", "PURSER_FLEET_PASSWORD_FILE"};
    const option_spec fleet_opt{"fleet", "", "read every proxy's rows from the fleet database", "", ""};
    t.push_back({"ledger", "", "list payment decisions",
                 "T: a duration back from now (90s, 15m, 24h, 30d) or a UTC date/time\n"
                 "(2026-11-23T13:00Z). S: reserved | paid | failed | in_doubt | expired | declined |\n"
                 "released. `purser ledger show ID` prints one row in full. JSON writes id,\n"
                 "x402_version, merchant_status and latency_ms as numbers (null when absent) and\n"
                 "amounts as decimal strings. --fleet reads the rows every proxy shipped to the\n"
                 "fleet database (PostgreSQL) instead, with a PROXY column (proxy_id in CSV/JSON).\n",
                 {{"since", "T", "oldest row", "24h", ""},
                  {"until", "T", "newest row", "now", ""},
                  {"agent", "A", "only this agent", "", ""},
                  {"host", "H", "only this host", "", ""},
                  {"status", "S", "only this status", "", ""},
                  format_opt,
                  {"limit", "N", "at most N rows", "", ""},
                  fleet_opt,
                  {"proxy", "ID", "with --fleet: only this proxy's rows", "", ""},
                  db_opt,
                  db_password_opt,
                  config_opt}});
    t.push_back({"ledger show", "ID", "one ledger row, every field", "",
                 {{"format", "table|json", "output format", "table", ""}, config_opt}});
    t.push_back({"ledger prune", "", "delete old rows, archived first",
                 "Rows decided before --before leave the store, oldest first. Paid rows go only\n"
                 "with --archive (JSON lines, the `ledger --format json` form, fsynced before the\n"
                 "rows are deleted); rows that may still move money (reserved, failed, in doubt)\n"
                 "never do. Agents' spending counters do not change. Rows of the last hour stay.\n",
                 {{"before", "T", "prune rows older than this (required), e.g. 90d", "", ""},
                  {"archive", "FILE", "append the rows here first (created 0600)", "", ""},
                  config_opt}});
    t.push_back({"ledger reconcile", "", "settlement evidence from the chain",
                 "Asks the chain about every in_doubt and failed `exact` payment, and expired ones\n"
                 "since --since: a nonce used on chain makes the row paid; an unused one past its\n"
                 "validBefore (plus 60 s for clock skew) releases the row. The payer is the\n"
                 "keystore's address (no password needed) or --address.\n",
                 {rpc_opt, keystore_opt, address_opt,
                  {"since", "T", "also check expired rows since T", "7d", ""},
                  {"dry-run", "", "report, change nothing", "", ""},
                  config_opt}});
    t.push_back({"spend", "", "totals by agent, host or day",
                 "--fleet totals the rows every proxy shipped to the fleet database (PostgreSQL)\n"
                 "and may group them by proxy too.\n",
                 {{"by", "agent|host|day|proxy", "grouping (required; proxy with --fleet)", "", ""},
                  {"since", "T", "oldest row", "30d", ""},
                  {"until", "T", "newest row", "now", ""},
                  format_opt,
                  fleet_opt,
                  db_opt,
                  db_password_opt,
                  config_opt}});

    t.push_back({"iou balance", "", "IOU channels: deposited, charged, claimed, left",
                 "One line per batch-settlement channel the wallet pays into. EXPOSURE is what the\n"
                 "merchant may still claim (the highest voucher signed less what it claimed);\n"
                 "AVAILABLE is what further vouchers can draw on. Amounts are token units.\n",
                 {{"merchant", "URL", "only the channel with this merchant's host", "", ""},
                  {"format", "table|json", "output format", "table", ""},
                  config_opt}});

    // What every command on one channel with a merchant takes, after its own --amount.
    // `every`: refund and withdraw act on every channel with the merchant without --channel.
    const auto merchant_channel_opts = [&](option_spec amount, bool every = false) {
        std::vector<option_spec> o{{"merchant", "URL", "a paid URL of the merchant (required)", "", ""},
                                   std::move(amount)};
        o.push_back(rpc_opt);
        o.push_back({"cacert", "FILE", "trust this CA for an https:// merchant", "", ""});
        o.push_back({"channel", "N", "which of the wallet's channels with the merchant (payment.iou.channels)",
                     every ? "every one" : "0", ""});
        o.push_back(keystore_opt);
        o.push_back(config_opt);
        return o;
    };
    t.push_back({"iou refund", "", "ask the merchant to refund what it has not charged",
                 "Reads the merchant's 402 terms at --merchant (a URL it charges for by\n"
                 "batch-settlement) to find the channel, then sends a zero-charge voucher for the\n"
                 "running total with a refund request. The whole remainder closes the channel.\n"
                 "Without --channel, every channel with the merchant the store has open is refunded.\n",
                 merchant_channel_opts({"amount", "X", "refund only this much (token units)", "the rest", ""}, true)});
    t.push_back({"iou deposit", "", "deposit into the channel with a merchant (your own transaction)",
                 "Reads the merchant's 402 terms at --merchant to find the channel, reserves the\n"
                 "deposit in the ledger (a deposit row, within payment.iou.max_channel and\n"
                 "max_total), then sends the escrow's deposit transaction from the wallet with an\n"
                 "ERC-3009 authorization valid for 10 minutes. Vouchers draw on it from then on.\n",
                 merchant_channel_opts({"amount", "X", "token units to deposit (required)", "", ""})});
    t.push_back({"iou withdraw", "", "timed exit: start a withdrawal, then finalize it after the delay",
                 "Without a withdrawal pending, starts one of what the merchant has not claimed (or\n"
                 "--amount) and stops paying vouchers on the channel. The merchant may still claim\n"
                 "the vouchers it holds during the channel's withdrawDelay. Run it again once the\n"
                 "delay has passed on chain to finalize: the rest comes back to the wallet.\n"
                 "Without --channel, every channel with the merchant is handled: those the store\n"
                 "has, and those of payment.iou.channels the escrow holds money for.\n",
                 merchant_channel_opts({"amount", "X", "withdraw only this much (token units)", "all unclaimed", ""},
                                       true)});

    t.push_back({"fleet migrate", "", "create or update the fleet database's tables",
                 "Applies every schema version the database lacks, each once, under a lock (proxies\n"
                 "starting together do not collide). A database newer than this Purser is refused.\n",
                 {db_opt, db_password_opt}});
    t.push_back({"budget add", "NAME", "a budget many proxies share: a cap a day, a month or ever", "",
                 {{"period", "day|month|lifetime", "how often the cap renews (UTC)", "day", ""},
                  {"cap", "USD", "the cap (required)", "", ""},
                  db_opt, db_password_opt}});
    t.push_back({"budget set", "NAME", "change a budget's cap",
                 "A lower cap grants nothing more until leases come back; it never takes back a\n"
                 "lease already granted (its proxy may have signed against it).\n",
                 {{"cap", "USD", "the new cap (required)", "", ""}, db_opt, db_password_opt}});
    t.push_back({"budget show", "NAME", "a budget's cap and where it went this window", "",
                 {{"format", "table|json", "output format", "table", ""}, db_opt, db_password_opt}});
    t.push_back({"budget list", "", "every budget", "",
                 {{"format", "table|json", "output format", "table", ""}, db_opt, db_password_opt}});
    t.push_back({"budget reconcile", "", "return the leases of a proxy that is gone for good",
                 "For a proxy whose node and store are lost: its leases would stay counted whole.\n"
                 "Each active lease of --proxy is returned having spent what that proxy's shipped\n"
                 "ledger rows of the lease's window (from the first such lease on) count: paid,\n"
                 "reserved, failed and in-doubt rows stay spent; the rest goes back to the budget.\n"
                 "Rows the proxy never shipped are not seen, so run it only for a proxy that will\n"
                 "not return: a proxy still running stops drawing on a reconciled lease within a\n"
                 "second of reaching the database, but may have paid from it until then.\n",
                 {{"proxy", "ID", "the proxy id (fleet.proxy_id) whose leases to return (required)", "", ""},
                  {"dry-run", "", "report, change nothing", "", ""},
                  {"format", "table|json", "output format", "table", ""},
                  db_opt,
                  db_password_opt}});

    const option_spec ca_dir{"ca-dir", "DIR", "CA directory", "PURSER_HOME/ca", "PURSER_CA_DIR"};
    t.push_back({"ca init", "", "create ca.key (EC P-256, mode 0600) and ca.crt unless they exist",
                 "", {ca_dir, config_opt}});
    t.push_back({"ca export", "", "print the CA certificate (PEM); needs `purser ca init`", "",
                 {ca_dir, config_opt}});
    t.push_back({"ca env", "", "print the lines that make curl, Python, Node trust the CA",
                 "Writes DIR/bundle.pem (system roots + the CA); use as: eval \"$(purser ca env)\"\n"
                 "Needs an existing CA (`purser ca init`).\n",
                 {ca_dir, config_opt}});

    t.push_back({"testnet up", "", "start a local x402 world (chain, facilitator, merchants)", "",
                 {testnet_dir_opt, {"base-port", "P", "first port (0..65528; 0 = any free ports)", "0",
                                   "PURSER_TESTNET_BASE_PORT"},
                  {"detach", "", "run in the background; return once ready (log: D/testnet.log)",
                   "", ""}}});
    t.push_back({"testnet down", "", "stop it", "", {testnet_dir_opt}});
    t.push_back({"testnet mint", "", "mint test USDC", "",
                 {testnet_dir_opt, {"to", "ADDRESS", "recipient (required)", "", ""},
                  {"amount", "USDC", "token units (required)", "", ""}}});
    t.push_back({"testnet settle", "", "the merchant claims its batch-settlement vouchers and settles",
                 "The v2 merchant claims every channel's latest voucher on the testnet chain, then\n"
                 "settles the claimed funds to its payee (the official channel manager's claimAndSettle).\n",
                 {testnet_dir_opt}});

    t.push_back({"x402 decode", "<header-value | 'Name: value' | FILE | JSON | ->",
                 "decode an x402 header or body as JSON",
                 "Decodes PAYMENT-REQUIRED, PAYMENT-SIGNATURE / X-PAYMENT, PAYMENT-RESPONSE /\n"
                 "X-PAYMENT-RESPONSE values or v1 JSON bodies, with human amounts for known tokens.\n",
                 {{"networks", "FILE", "extra networks and tokens (JSON array)", "", ""}}});
    t.push_back({"x402 sign", "", "sign a payment for a 402's terms",
                 "Prints the payment header value for the first offer in FILE payable with the\n"
                 "exact scheme. Fixed nonce and times make the output reproducible.\n",
                 {keystore_opt, config_opt,
                  {"requirements", "FILE", "402 body, PaymentRequired JSON or header (required)",
                   "", ""},
                  {"x402-version", "1|2", "check the terms' version", "", ""},
                  {"nonce", "0x..", "fixed nonce", "random", ""},
                  {"valid-after", "S", "unix seconds", "0 (v2) or now-600 (v1)", ""},
                  {"valid-before", "S", "unix seconds", "now + window", ""},
                  {"now", "S", "unix seconds to treat as now", "", ""},
                  {"max-window", "S", "longest validity", "300", ""}}});
    t.push_back({"x402 verify", "", "recover and check a payment's signer",
                 "Exit code 0 when the signer is authorization.from, 1 otherwise. v1 payments need\n"
                 "--requirements (they carry no token domain).\n",
                 {{"header", "VALUE", "the payment header value", "", ""},
                  {"file", "F", "file holding it", "", ""},
                  {"requirements", "FILE", "the 402's terms", "", ""}}});
    return t;
}

}  // namespace

const std::vector<command_spec>& command_table() {
    static const std::vector<command_spec> table = build_table();
    return table;
}

const command_spec* find_command(std::string_view path) {
    for (const auto& c : command_table())
        if (c.path == path) return &c;
    return nullptr;
}

std::string help_text(const command_spec& c) {
    std::string out = "usage: purser " + c.path + (c.args.empty() ? "" : " " + c.args) +
                      (c.options.empty() ? "" : " [options]") + "\n\n  " + c.summary + "\n";
    if (!c.about.empty()) out += "\n" + c.about;
    if (!c.options.empty()) out += "\noptions:\n";
    for (const auto& o : c.options) {
        std::string left = "  --" + o.name + (o.value.empty() ? "" : " " + o.value);
        if (left.size() < 28) left.resize(28, ' ');
        else left += "\n" + std::string(28, ' ');
        out += left + o.help;
        if (!o.default_value.empty()) out += " (default " + o.default_value + ")";
        if (!o.env.empty()) out += " [env " + o.env + "]";
        out += "\n";
    }
    out += "  --help                    this text\n";
    return out;
}

std::string group_help(std::string_view group) {
    std::string lines;
    const std::string prefix = std::string(group) + " ";
    for (const auto& c : command_table()) {
        if (c.path != group && c.path.rfind(prefix, 0) != 0) continue;
        std::string left = "  " + c.path + (c.args.empty() ? "" : " " + c.args);
        if (left.size() < 34) left.resize(34, ' ');
        else left += "\n" + std::string(34, ' ');
        lines += left + c.summary + "\n";
    }
    if (lines.empty()) return "";
    return "usage: purser " + std::string(group) + " <command> [options]\n\n" + lines +
           "\n`purser " + std::string(group) + " <command> --help` lists its options.\n";
}

std::string top_level_help() {
    std::string out = "usage: purser <command> [options]\n\n";
    for (const auto& c : command_table()) {
        std::string left = "  " + c.path + (c.args.empty() ? "" : " " + c.args);
        if (left.size() < 34) left.resize(34, ' ');
        else left += "\n" + std::string(34, ' ');
        out += left + c.summary + "\n";
    }
    out += "  --version                       print the version\n"
           "\n`purser <command> --help` lists a command's options.\n"
           "\nconfiguration:\n"
           "  One configuration for every command: the JSON config file (--config FILE or\n"
           "  PURSER_CONFIG), the environment, then flags; flags > environment > file >\n"
           "  defaults. Each config key k is also the variable PURSER_<K> (k upper-cased:\n"
           "  store_dir -> PURSER_STORE_DIR) and the flag --<k> ('_' as '-': --store-dir);\n"
           "  lists are comma-separated, switches take true/false, payment takes JSON.\n"
           "  `purser config show` prints what is in effect and where each value came from.\n"
           "\nenvironment:\n"
           "  PURSER_HOME                     state directory: keystore, store, ca, testnet\n"
           "                                  (default ~/.purser)\n"
           "  PURSER_CONFIG                   config file (as --config)\n"
           "  PURSER_KEYSTORE                 keystore file (default PURSER_HOME/keystore.json)\n"
           "  PURSER_STORE_DIR                store (default PURSER_HOME/store)\n"
           "  PURSER_CA_DIR                   interception CA (default PURSER_HOME/ca)\n"
           "  PURSER_WALLET_PASSWORD_FILE     file holding the wallet password (mode 0600)\n"
           "  PURSER_WALLET_PASSWORD          the wallet password itself (prefer the file)\n"
           "  PURSER_IMPORT_PASSWORD(_FILE)   password of a keystore given to wallet import\n"
           "  PURSER_TESTNET_RPC              default --rpc\n"
           "  PURSER_LISTEN                   proxy listen address (default 127.0.0.1:8402)\n"
           "  PURSER_ADMIN_TOKEN(_FILE)       bearer token of the proxy's admin API (file preferred)\n"
           "  PURSER_<KEY>                    any other config key (`purser proxy --help`)\n";
    return out;
}

bool wants_help(const std::vector<std::string>& args) {
    return !args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help");
}

std::optional<options> parse_command(std::string_view path, const std::vector<std::string>& args,
                                     int& exit_code) {
    const command_spec* c = find_command(path);
    std::set<std::string> valued;
    std::set<std::string> flags{"help"};
    if (c != nullptr) {
        for (const auto& o : c->options) (o.value.empty() ? flags : valued).insert(o.name);
    }
    std::vector<std::string> words = args;
    // -h is the short spelling people try first; the parser only knows long options.
    for (auto& w : words)
        if (w == "-h") w = "--help";
    auto parsed = options::parse(words, valued, flags);
    if (!parsed) {
        exit_code = report(parsed.error(), 2);
        return std::nullopt;
    }
    if (parsed->has("help")) {
        std::cout << (c != nullptr ? help_text(*c) : std::string("no help\n"));
        exit_code = 0;
        return std::nullopt;
    }
    return std::move(*parsed);
}

}  // namespace purser::cli
