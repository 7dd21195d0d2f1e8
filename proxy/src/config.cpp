#include "purser/proxy/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include <unistd.h>

#include "purser/protocol/url.hpp"
#include "purser/proxy/errc.hpp"
#include "purser/store/text.hpp"

namespace purser::proxy {
namespace {

using json = nlohmann::json;

/// How an option's value is spelled. File values must already have the JSON type; environment
/// and flag strings are converted by `from_text` first, so one setter serves all three sources.
enum class kind { text, number, boolean, list, object };

/// One row per key: adding a key is adding a row (and its field in `config`). `show` gives the
/// effective value for `purser config show`; a `secret` row's value is never shown.
struct option {
    const char* name;
    kind type;
    result<void> (*apply)(config&, const json&, const std::string& where);
    json (*show)(const config&) = nullptr;
    bool secret = false;
    const char* env = nullptr;  ///< Its variable when not env_name's spelling of the key.
};

json shown(const std::string& s) { return s; }
json shown(const std::filesystem::path& p) { return p.string(); }
json shown(bool b) { return b; }
json shown(std::uint64_t n) { return n; }
json shown(unsigned n) { return n; }
template <class T>
json shown(const std::optional<T>& v) {
    return v ? shown(*v) : json(nullptr);
}
template <class T>
json shown(const std::vector<T>& items) {
    json out = json::array();
    for (const auto& item : items) out.push_back(shown(item));
    return out;
}

[[nodiscard]] tl::unexpected<error> bad(const std::string& where, const std::string& why) {
    return fail(errc::invalid_option, where + ": " + why);
}

[[nodiscard]] result<std::uint64_t> as_u64(const json& v, const std::string& where,
                                           std::uint64_t lo, std::uint64_t hi) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
        return bad(where, "expected a non-negative integer");
    const auto n = v.get<std::uint64_t>();
    if (n < lo || n > hi)
        return bad(where, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return n;
}

[[nodiscard]] result<std::string> as_text(const json& v, const std::string& where,
                                          bool allow_empty = false) {
    if (!v.is_string()) return bad(where, "expected a string");
    auto s = v.get<std::string>();
    if (s.empty() && !allow_empty) return bad(where, "must not be empty");
    return s;
}

[[nodiscard]] result<std::vector<std::string>> as_list(const json& v, const std::string& where) {
    if (!v.is_array()) return bad(where, "expected an array of strings");
    std::vector<std::string> out;
    for (const auto& item : v) {
        if (!item.is_string() || item.get<std::string>().empty())
            return bad(where, "expected an array of non-empty strings");
        out.push_back(item.get<std::string>());
    }
    return out;
}

[[nodiscard]] result<void> check_pattern(const std::string& p, const std::string& where) {
    // A pattern is "*", an exact host, or "*.suffix" (the grammar agent policies use too);
    // anything else is a typo worth reporting, and would otherwise match nothing.
    if (!protocol::valid_host_pattern(p))
        return bad(where, "pattern '" + p + "' must be *, a host, or *.domain");
    return {};
}

#define PURSER_SIZE_OPTION(field, lo, hi)                                            \
    [](config& c, const json& v, const std::string& w) -> result<void> {             \
        PURSER_TRY(n, as_u64(v, w, lo, hi));                                           \
        c.field = static_cast<decltype(c.field)>(n);                                   \
        return {};                                                                     \
    }
#define PURSER_PATH_OPTION(field)                                                    \
    [](config& c, const json& v, const std::string& w) -> result<void> {             \
        PURSER_TRY(s, as_text(v, w));                                                  \
        c.field = s;                                                                   \
        return {};                                                                     \
    }

/// The payment section as `config show` prints it: JSON-RPC URLs often carry an API key in
/// their path, query or user part, so only their scheme and host are shown.
json payment_shown(const json& payment) {
    json out = payment;
    auto rpc = out.find("rpc");
    if (rpc == out.end() || !rpc->is_object()) return out;
    for (auto& url : *rpc) {
        if (!url.is_string()) continue;
        const auto text = url.get<std::string>();
        const auto scheme_end = text.find("://");
        const auto host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
        const auto path_start = std::min(text.find_first_of("/?#", host_start), text.size());
        std::string authority = text.substr(host_start, path_start - host_start);
        if (const auto at = authority.rfind('@'); at != std::string::npos)
            authority = "(redacted)@" + authority.substr(at + 1);
        url = text.substr(0, host_start) + authority +
              (path_start < text.size() ? "/(redacted)" : "");
    }
    return out;
}

#define PURSER_SHOW(field) [](const config& c) -> json { return shown(c.field); }

/// A fleet budget name as the fleet database accepts it: 1..64 of [a-z0-9_.-], starting with a
/// letter or digit (fleet/src/budgets.cpp checks the same when a budget is added).
bool valid_budget_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char ch = name[i];
        const bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && !(i > 0 && (ch == '_' || ch == '.' || ch == '-'))) return false;
    }
    return true;
}

/// A lease bound: decimal USD as a string ("0.25"), or a whole number of dollars. Never a JSON
/// fraction: money is not floating point.
result<std::uint64_t> as_usd(const json& v, const std::string& where) {
    std::string text;
    if (v.is_string()) text = v.get<std::string>();
    else if (v.is_number_unsigned()) text = std::to_string(v.get<std::uint64_t>());
    else return bad(where, "expected decimal USD as a string (\"0.25\")");
    auto micros = store::parse_usd(text);
    if (!micros) return bad(where, "'" + text + "': " + micros.error().message());
    constexpr std::uint64_t most = std::uint64_t{1'000'000'000} * 1'000'000;  // $1e9
    if (*micros == 0 || *micros > most) return bad(where, "must be above 0 and at most 1000000000");
    return *micros;
}

/// The connection string as `config show` prints it: a password written into it (against
/// advice: use fleet.password_file) is replaced, in URI and in key=value form.
json conninfo_shown(const std::string& conninfo) {
    if (conninfo.empty()) return nullptr;
    std::string out = conninfo;
    if (const auto scheme = out.find("://"); scheme != std::string::npos) {
        const auto host_start = scheme + 3;
        const auto at = out.find('@', host_start);
        const auto path = out.find_first_of("/?", host_start);
        if (at != std::string::npos && (path == std::string::npos || at < path)) {
            const auto colon = out.find(':', host_start);
            if (colon != std::string::npos && colon < at)
                out = out.substr(0, colon + 1) + "(redacted)" + out.substr(at);
        }
    }
    for (const char* key : {"password=", "password ="}) {
        for (auto p = out.find(key); p != std::string::npos; p = out.find(key, p + 1)) {
            const auto value = p + std::string_view(key).size();
            const auto end = std::min(out.find_first_of(" &", value), out.size());
            out = out.substr(0, value) + "(redacted)" + out.substr(end);
        }
    }
    return out;
}

json budgets_shown(const std::map<std::string, std::vector<std::string>>& budgets) {
    json out = json::object();
    for (const auto& [agent, names] : budgets) out[agent] = names;
    return out;
}

constexpr std::uint64_t max_ms = 24ull * 3600 * 1000;

const std::vector<option>& options() {
    static const std::vector<option> all = {
        {"listen", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w));
             auto hp = parse_listen(s);
             if (!hp) return bad(w, hp.error().detail);
             c.listen_host = hp->first;
             c.listen_port = hp->second;
             return {};
         },
         [](const config& c) -> json {
             const bool v6 = c.listen_host.find(':') != std::string::npos;
             return (v6 ? "[" + c.listen_host + "]" : c.listen_host) + ":" +
                    std::to_string(c.listen_port);
         }},
        {"threads", kind::number, PURSER_SIZE_OPTION(threads, 0, 256), PURSER_SHOW(threads)},
        {"default_agent", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w, true));
             if (s.empty()) c.default_agent.reset(); else c.default_agent = s;
             return {};
         },
         PURSER_SHOW(default_agent)},
        {"allow_unauthenticated", kind::boolean,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             if (!v.is_boolean()) return bad(w, "expected true or false");
             c.allow_unauthenticated = v.get<bool>();
             return {};
         },
         PURSER_SHOW(allow_unauthenticated)},
        {"max_connections", kind::number,
         PURSER_SIZE_OPTION(max_connections, 1, 1'000'000),
         PURSER_SHOW(max_connections)},
        {"max_replay_body", kind::number,
         PURSER_SIZE_OPTION(max_replay_body, 0, 1ull << 30),
         PURSER_SHOW(max_replay_body)},
        {"max_header_bytes", kind::number,
         PURSER_SIZE_OPTION(max_header_bytes, 1024, 1u << 20), PURSER_SHOW(max_header_bytes)},
        {"max_402_body", kind::number,
         PURSER_SIZE_OPTION(max_402_body, 1024, 16u << 20),
         PURSER_SHOW(max_402_body)},
        {"idle_timeout_ms", kind::number,
         PURSER_SIZE_OPTION(idle_timeout_ms, 1, max_ms),
         PURSER_SHOW(idle_timeout_ms)},
        {"upstream_timeout_ms", kind::number,
         PURSER_SIZE_OPTION(upstream_timeout_ms, 1, max_ms), PURSER_SHOW(upstream_timeout_ms)},
        {"shutdown_grace_ms", kind::number,
         PURSER_SIZE_OPTION(shutdown_grace_ms, 0, max_ms),
         PURSER_SHOW(shutdown_grace_ms)},
        {"pool_idle_per_origin", kind::number,
         PURSER_SIZE_OPTION(pool_idle_per_origin, 0, 1024), PURSER_SHOW(pool_idle_per_origin)},
        {"upstream_ca", kind::list,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(l, as_list(v, w));
             c.upstream_ca.assign(l.begin(), l.end());
             return {};
         },
         PURSER_SHOW(upstream_ca)},
        {"intercept", kind::list,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(l, as_list(v, w));
             for (const auto& p : l) {
                 PURSER_CHECK(check_pattern(p, w));
             }
             c.intercept = std::move(l);
             return {};
         },
         PURSER_SHOW(intercept)},
        {"no_intercept", kind::list,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(l, as_list(v, w));
             for (const auto& p : l) {
                 PURSER_CHECK(check_pattern(p, w));
             }
             c.no_intercept = std::move(l);
             return {};
         },
         PURSER_SHOW(no_intercept)},
        {"underscore_headers", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w));
             if (s == "drop") c.underscore_headers = underscore_policy::drop;
             else if (s == "reject") c.underscore_headers = underscore_policy::reject;
             else if (s == "allow") c.underscore_headers = underscore_policy::allow;
             else return bad(w, "expected drop, reject or allow");
             return {};
         },
         [](const config& c) -> json {
             switch (c.underscore_headers) {
                 case underscore_policy::drop: return "drop";
                 case underscore_policy::reject: return "reject";
                 case underscore_policy::allow: return "allow";
             }
             return nullptr;
         }},
        {"allow_get_body_hosts", kind::list,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(l, as_list(v, w));
             for (const auto& p : l) {
                 PURSER_CHECK(check_pattern(p, w));
             }
             c.allow_get_body_hosts = std::move(l);
             return {};
         },
         PURSER_SHOW(allow_get_body_hosts)},
        {"ca_dir", kind::text, PURSER_PATH_OPTION(ca_dir), PURSER_SHOW(ca_dir)},
        {"log", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w));
             c.log = s;
             return {};
         },
         PURSER_SHOW(log)},
        {"no_payments", kind::boolean,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             if (!v.is_boolean()) return bad(w, "expected true or false");
             c.no_payments = v.get<bool>();
             return {};
         },
         PURSER_SHOW(no_payments)},
        {"store_dir", kind::text, PURSER_PATH_OPTION(store_dir), PURSER_SHOW(store_dir)},
        {"no_group_commit", kind::boolean,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             if (!v.is_boolean()) return bad(w, "expected true or false");
             c.no_group_commit = v.get<bool>();
             return {};
         },
         PURSER_SHOW(no_group_commit)},
        {"store_commit_delay_us", kind::number,
         PURSER_SIZE_OPTION(store_commit_delay_us, 0, 100'000), PURSER_SHOW(store_commit_delay_us)},
        {"store_max_size", kind::number,
         PURSER_SIZE_OPTION(store_max_size, std::uint64_t{16} << 20, std::uint64_t{1} << 40),
         PURSER_SHOW(store_max_size)},
        {"keystore", kind::text, PURSER_PATH_OPTION(keystore), PURSER_SHOW(keystore)},
        {"wallet_password_file", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w));
             c.wallet_password_file = s;
             return {};
         },
         PURSER_SHOW(wallet_password_file)},
        {"testnet_env", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w, true));
             if (s.empty()) c.testnet_env.reset(); else c.testnet_env = s;
             return {};
         },
         PURSER_SHOW(testnet_env)},
        {"admin_listen", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w));
             if (s != "off") {
                 auto hp = parse_listen(s);
                 if (!hp) return bad(w, hp.error().detail + " (or off)");
             }
             c.admin_listen = s;
             return {};
         },
         PURSER_SHOW(admin_listen)},
        {"admin_token_file", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w, true));
             if (s.empty()) c.admin_token_file.reset(); else c.admin_token_file = s;
             return {};
         },
         PURSER_SHOW(admin_token_file)},
        {"fleet.database", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w, true));
             c.fleet.database = s;
             return {};
         },
         [](const config& c) -> json { return conninfo_shown(c.fleet.database); }, false,
         "PURSER_FLEET_DB"},
        {"fleet.password_file", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w, true));
             if (s.empty()) c.fleet.password_file.reset(); else c.fleet.password_file = s;
             return {};
         },
         PURSER_SHOW(fleet.password_file)},
        {"fleet.proxy_id", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(s, as_text(v, w));
             // It names this proxy's leases and ledger rows in the shared database: printable
             // ASCII without spaces, as the fleet's lease table takes it (1..128).
             if (s.size() > 128) return bad(w, "at most 128 characters");
             for (char ch : s)
                 if (ch <= ' ' || ch > '~') return bad(w, "printable ASCII without spaces only");
             c.fleet.proxy_id = s;
             return {};
         },
         PURSER_SHOW(fleet.proxy_id)},
        {"fleet.budgets", kind::object,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             if (!v.is_object())
                 return bad(w, "expected an object: agent name or \"*\" -> list of budget names");
             std::map<std::string, std::vector<std::string>> out;
             for (const auto& [agent, names] : v.items()) {
                 const std::string at = w + " agent '" + agent + "'";
                 if (agent.empty() || agent.size() > 64) return bad(at, "agent names are 1..64 bytes");
                 PURSER_TRY(list, as_list(names, at));
                 if (list.size() > 16) return bad(at, "at most 16 budgets per agent");
                 for (const auto& name : list)
                     if (!valid_budget_name(name))
                         return bad(at, "budget name '" + name +
                                            "' must be 1..64 of a-z 0-9 _ . -, starting with a "
                                            "letter or digit");
                 std::sort(list.begin(), list.end());
                 list.erase(std::unique(list.begin(), list.end()), list.end());
                 out[agent] = std::move(list);
             }
             c.fleet.budgets = std::move(out);
             return {};
         },
         [](const config& c) -> json { return budgets_shown(c.fleet.budgets); }},
        {"fleet.lease_min", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(n, as_usd(v, w));
             c.fleet.lease_min_micros = n;
             return {};
         },
         [](const config& c) -> json { return store::format_usd(c.fleet.lease_min_micros); }},
        {"fleet.lease_max", kind::text,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             PURSER_TRY(n, as_usd(v, w));
             c.fleet.lease_max_micros = n;
             return {};
         },
         [](const config& c) -> json { return store::format_usd(c.fleet.lease_max_micros); }},
        {"payment", kind::object,
         [](config& c, const json& v, const std::string& w) -> result<void> {
             if (!v.is_object()) return bad(w, "expected a JSON object");
             c.payment = v;
             return {};
         },
         [](const config& c) -> json { return payment_shown(c.payment); }},
    };
    return all;
}

#undef PURSER_SIZE_OPTION
#undef PURSER_PATH_OPTION
#undef PURSER_SHOW

const option* find_option(std::string_view name) {
    for (const auto& o : options())
        if (name == o.name) return &o;
    return nullptr;
}

std::string flag_of(std::string_view name) {
    std::string s(name);
    std::replace(s.begin(), s.end(), '_', '-');
    std::replace(s.begin(), s.end(), '.', '-');
    return s;
}

const option* find_option_by_flag(std::string_view flag) {
    for (const auto& o : options())
        if (flag_of(o.name) == flag) return &o;
    return nullptr;
}

/// This machine's host name: the default fleet.proxy_id ("purser" when it has none).
std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "purser";
    std::string name(buf);
    for (char& ch : name)
        if (ch <= ' ' || ch > '~') ch = '_';
    return name.substr(0, 128);
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

/// Converts environment/flag text to the JSON the option's setter expects.
result<json> from_text(const option& o, const std::vector<std::string>& values,
                       const std::string& where) {
    const std::string& last = values.back();
    switch (o.type) {
        case kind::text: return json(last);
        case kind::number: {
            std::uint64_t n = 0;
            const auto* end = last.data() + last.size();
            const auto r = std::from_chars(last.data(), end, n);
            if (last.empty() || r.ec != std::errc{} || r.ptr != end)
                return bad(where, "'" + last + "' is not a non-negative integer");
            return json(n);
        }
        case kind::boolean: {
            if (last == "true" || last == "1" || last == "yes") return json(true);
            if (last == "false" || last == "0" || last == "no") return json(false);
            return bad(where, "'" + last + "' is not true/false");
        }
        case kind::list: {
            json arr = json::array();
            for (const auto& v : values)
                for (auto& item : split_commas(v)) arr.push_back(item);
            return arr;
        }
        case kind::object: {
            json j = json::parse(last, nullptr, false);
            if (j.is_discarded()) return bad(where, "not valid JSON");
            return j;
        }
    }
    return bad(where, "unsupported option kind");
}

bool is_localhost_name(std::string_view host) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "localhost." is the same
    constexpr std::string_view name = "localhost";
    return host.size() == name.size() &&
           std::equal(host.begin(), host.end(), name.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           });
}

/// Checks that need every source applied first: what one option means depends on another.
result<void> check_combination(const config& c) {
    if (c.default_agent && !c.allow_unauthenticated && !is_loopback_host(c.listen_host))
        return fail(errc::invalid_option,
                    "default_agent '" + *c.default_agent + "' on listen address " +
                        c.listen_host +
                        ", which is not loopback: anyone who can reach the port would spend "
                        "that agent's budget without credentials. Listen on 127.0.0.1 (containers "
                        "in one pod share it), drop default_agent and give agents credentials, or "
                        "set allow_unauthenticated (--allow-unauthenticated, "
                        "PURSER_ALLOW_UNAUTHENTICATED=1) if the network already keeps others "
                        "out");
    const fleet_settings& f = c.fleet;
    if (f.lease_min_micros > f.lease_max_micros)
        return fail(errc::invalid_option, "fleet.lease_min (" + store::format_usd(f.lease_min_micros) +
                                              ") is above fleet.lease_max (" +
                                              store::format_usd(f.lease_max_micros) + ")");
    if (!f.budgets.empty() && !f.enabled())
        return fail(errc::invalid_option,
                    "fleet.budgets needs fleet.database (PURSER_FLEET_DB): the budgets live there");
    return {};
}

}  // namespace

std::string env_name(std::string_view key) {
    if (const option* o = find_option(key); o != nullptr && o->env != nullptr) return o->env;
    std::string s = "PURSER_";
    for (char ch : key)
        s += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
}

std::string config_key(std::string_view flag) {
    const option* o = find_option_by_flag(flag);
    return o != nullptr ? o->name : std::string(flag);
}

const std::vector<std::string>& fleet_settings::budgets_of(const std::string& agent) const {
    static const std::vector<std::string> none;
    if (auto it = budgets.find(agent); it != budgets.end()) return it->second;
    if (auto it = budgets.find("*"); it != budgets.end()) return it->second;
    return none;
}

std::vector<setting> describe_config(const config& c) {
    std::vector<setting> out;
    for (const auto& o : options()) {
        setting s;
        s.key = o.name;
        s.env = env_name(o.name);
        s.secret = o.secret;
        auto from = c.origin.find(o.name);
        s.source = from == c.origin.end() ? "default" : from->second;
        // A row without its `show` still lists the key and its source, never a guess.
        if (!o.secret) s.value = o.show != nullptr ? o.show(c) : json("(not shown)");
        out.push_back(std::move(s));
    }
    return out;
}

bool is_loopback_host(const std::string& host) {
    if (is_localhost_name(host)) return true;
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
        return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
    }
    return false;
}

result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text) {
    std::string host;
    std::string port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return fail(errc::invalid_option, "listen address '" + text + "' is not [V6]:PORT");
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon)
            return fail(errc::invalid_option, "listen address '" + text + "' is not HOST:PORT");
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto r = std::from_chars(port_text.data(), end, port);
    if (host.empty() || port_text.empty() || r.ec != std::errc{} || r.ptr != end || port > 65535)
        return fail(errc::invalid_option, "listen address '" + text + "' has a bad host or port");
    return std::pair{host, static_cast<std::uint16_t>(port)};
}

const std::vector<std::string>& config_flag_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& o : options())
            if (o.type != kind::boolean) out.push_back(flag_of(o.name));
        return out;
    }();
    return names;
}

const std::vector<std::string>& config_switch_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& o : options())
            if (o.type == kind::boolean) out.push_back(flag_of(o.name));
        return out;
    }();
    return names;
}

result<std::shared_ptr<const config>> load_config(const config_sources& sources) {
    auto c = std::make_shared<config>();
    c->ca_dir = sources.purser_home / "ca";
    c->store_dir = sources.purser_home / "store";
    c->keystore = sources.purser_home / "keystore.json";
    c->fleet.proxy_id = host_name();

    if (sources.file) {
        std::ifstream in(*sources.file, std::ios::binary);
        if (!in) return fail(errc::config_file, sources.file->string() + ": cannot open");
        std::stringstream ss;
        ss << in.rdbuf();
        const json doc = json::parse(ss.str(), nullptr, false);
        if (doc.is_discarded())
            return fail(errc::config_file, sources.file->string() + ": not valid JSON");
        if (!doc.is_object())
            return fail(errc::config_file, sources.file->string() + ": not a JSON object");
        // Sections ("fleet": {...}) hold keys named "section.key"; the rest are flat.
        auto apply_key = [&](const std::string& key, const json& value) -> result<void> {
            const option* o = find_option(key);
            if (o == nullptr)
                return fail(errc::unknown_option, sources.file->string() + ": unknown key '" +
                                                      key + "'");
            PURSER_CHECK(o->apply(*c, value, "config key '" + key + "'"));
            c->origin[key] = "file:" + sources.file->string();
            return {};
        };
        for (const auto& [key, value] : doc.items()) {
            if (key == "fleet") {
                if (!value.is_object())
                    return bad("config key 'fleet'", "expected an object (database, "
                                                     "password_file, proxy_id, budgets, "
                                                     "lease_min, lease_max)");
                for (const auto& [sub, v] : value.items()) PURSER_CHECK(apply_key("fleet." + sub, v));
                continue;
            }
            if (key.find('.') != std::string::npos)
                return fail(errc::unknown_option, sources.file->string() + ": unknown key '" +
                                                      key + "'");
            PURSER_CHECK(apply_key(key, value));
        }
    }

    if (sources.env) {
        for (const auto& o : options()) {
            const std::string var = env_name(o.name);
            auto text = sources.env(var);
            if (!text) continue;
            const std::string where = "environment " + var;
            PURSER_TRY(value, from_text(o, {*text}, where));
            PURSER_CHECK(o.apply(*c, value, where));
            c->origin[o.name] = "env:" + var;
        }
    }

    for (const auto& [flag, values] : sources.flags) {
        const option* o = find_option_by_flag(flag);
        if (o == nullptr) return fail(errc::unknown_option, "unknown flag '--" + flag + "'");
        const std::string key = o->name;
        const std::string where = "flag --" + flag;
        json value;
        if (o->type == kind::boolean && (values.empty() || values.back().empty())) {
            value = true;  // a bare switch
        } else {
            if (values.empty()) return bad(where, "needs a value");
            PURSER_TRY(v, from_text(*o, values, where));
            value = std::move(v);
        }
        PURSER_CHECK(o->apply(*c, value, where));
        c->origin[key] = "flag:--" + flag;
    }
    PURSER_CHECK(check_combination(*c));
    return std::shared_ptr<const config>(std::move(c));
}

}  // namespace purser::proxy
