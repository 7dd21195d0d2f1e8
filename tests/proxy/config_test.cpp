#include "purser/proxy/config.hpp"

#include <fstream>
#include <map>

#include <catch2/catch.hpp>

#include "purser/proxy/errc.hpp"
#include "test_support.hpp"

using namespace purser::proxy;

namespace {

config_sources sources_with(const std::filesystem::path& home,
                            std::map<std::string, std::string> env = {}) {
    config_sources s;
    s.purser_home = home;
    s.env = [env](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
    };
    return s;
}

void write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("config defaults", "[proxy]") {
    purser::test::temp_dir home;
    auto c = load_config(sources_with(home.path()));
    REQUIRE(c);
    CHECK((*c)->listen_host == "127.0.0.1");
    CHECK((*c)->listen_port == 8402);
    CHECK((*c)->max_replay_body == 8u << 20);
    CHECK((*c)->intercept == std::vector<std::string>{"*"});
    CHECK((*c)->ca_dir == home.path() / "ca");
    CHECK((*c)->keystore == home.path() / "keystore.json");
    CHECK_FALSE((*c)->default_agent);
}

TEST_CASE("config precedence: flags > environment > file > defaults", "[proxy]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "proxy.json";
    write(file, R"({"listen":"127.0.0.1:9001","threads":3,"max_replay_body":100,
                    "default_agent":"file-agent","payment":{"max_payment_window_s":60}})");
    auto s = sources_with(home.path(), {{"PURSER_LISTEN", "127.0.0.1:9002"},
                                        {"PURSER_THREADS", "5"},
                                        {"PURSER_NO_INTERCEPT", "a.test,*.b.test"}});
    s.file = file;
    s.flags["listen"] = {"127.0.0.1:9003"};
    auto c = load_config(s);
    REQUIRE(c);
    CHECK((*c)->listen_port == 9003);         // flag
    CHECK((*c)->threads == 5);                // env over file
    CHECK((*c)->max_replay_body == 100);      // file over default
    CHECK((*c)->default_agent == "file-agent");
    CHECK((*c)->no_intercept == std::vector<std::string>{"a.test", "*.b.test"});
    CHECK((*c)->payment["max_payment_window_s"] == 60);  // passed through untouched
}

TEST_CASE("config errors name the key", "[proxy]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "proxy.json";
    auto s = sources_with(home.path());
    s.file = file;

    write(file, R"({"listen":"127.0.0.1:1","max_replay_bodyy":5})");
    auto unknown = load_config(s);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == errc::unknown_option);
    CHECK(unknown.error().detail.find("max_replay_bodyy") != std::string::npos);

    write(file, R"({"threads":"four"})");
    auto wrong = load_config(s);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == errc::invalid_option);
    CHECK(wrong.error().detail.find("threads") != std::string::npos);

    write(file, R"([1,2])");
    CHECK(load_config(s).error().code == errc::config_file);
    write(file, R"({"listen":"nonsense"})");
    CHECK(load_config(s).error().detail.find("listen") != std::string::npos);
    write(file, R"({"intercept":["a*b"]})");
    CHECK(load_config(s).error().code == errc::invalid_option);
    // A numeric pattern that is not one address would match nothing: reported, not ignored.
    write(file, R"({"no_intercept":["256.1.1.1"]})");
    CHECK(load_config(s).error().code == errc::invalid_option);

    auto bad_env = sources_with(home.path(), {{"PURSER_IDLE_TIMEOUT_MS", "10s"}});
    auto e = load_config(bad_env);
    REQUIRE_FALSE(e);
    CHECK(e.error().detail.find("PURSER_IDLE_TIMEOUT_MS") != std::string::npos);

    auto bad_flag = sources_with(home.path());
    bad_flag.flags["no-such-flag"] = {"1"};
    CHECK(load_config(bad_flag).error().code == errc::unknown_option);

    auto missing = sources_with(home.path());
    missing.file = home.path() / "absent.json";
    CHECK(load_config(missing).error().code == errc::config_file);
}

TEST_CASE("switch flags and listen parsing", "[proxy]") {
    purser::test::temp_dir home;
    auto s = sources_with(home.path());
    s.flags["no-payments"] = {""};
    s.flags["listen"] = {"[::1]:0"};
    auto c = load_config(s);
    REQUIRE(c);
    CHECK((*c)->no_payments);
    CHECK((*c)->listen_host == "::1");
    CHECK((*c)->listen_port == 0);
    CHECK_FALSE(parse_listen("127.0.0.1:65536"));
    CHECK_FALSE(parse_listen("127.0.0.1"));
}

TEST_CASE("max_connections: default, sources and range", "[proxy]") {
    purser::test::temp_dir home;
    CHECK((*load_config(sources_with(home.path())))->max_connections == 10'000);
    auto env = sources_with(home.path(), {{"PURSER_MAX_CONNECTIONS", "64"}});
    CHECK((*load_config(env))->max_connections == 64);
    env.flags["max-connections"] = {"4"};
    CHECK((*load_config(env))->max_connections == 4);
    auto zero = sources_with(home.path());
    zero.flags["max-connections"] = {"0"};
    auto e = load_config(zero);
    REQUIRE_FALSE(e);
    CHECK(e.error().detail.find("max-connections") != std::string::npos);
}

TEST_CASE("store_commit_delay_us: off by default, sources and range", "[proxy]") {
    purser::test::temp_dir home;
    CHECK((*load_config(sources_with(home.path())))->store_commit_delay_us == 0);
    auto env = sources_with(home.path(), {{"PURSER_STORE_COMMIT_DELAY_US", "1000"}});
    CHECK((*load_config(env))->store_commit_delay_us == 1000);
    env.flags["store-commit-delay-us"] = {"250"};
    CHECK((*load_config(env))->store_commit_delay_us == 250);
    auto over = sources_with(home.path());
    over.flags["store-commit-delay-us"] = {"100001"};  // a tenth of a second at most
    auto e = load_config(over);
    REQUIRE_FALSE(e);
    CHECK(e.error().detail.find("store-commit-delay-us") != std::string::npos);
}

TEST_CASE("loopback listen hosts", "[proxy]") {
    for (const auto* h : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "localhost",
                          "LocalHost", "localhost."})
        CHECK(is_loopback_host(h));
    for (const auto* h : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1",
                          "fe80::1", "128.0.0.1", "localhost.example.com", "example.com"})
        CHECK_FALSE(is_loopback_host(h));
}

TEST_CASE("default_agent on a non-loopback listener needs allow_unauthenticated", "[proxy]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "proxy.json";

    SECTION("refused from flags, environment or file, with the reason and the way out") {
        auto flags = sources_with(home.path());
        flags.flags["listen"] = {"0.0.0.0:8402"};
        flags.flags["default-agent"] = {"bot"};
        auto e = load_config(flags);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == errc::invalid_option);
        CHECK(e.error().detail.find("not loopback") != std::string::npos);
        CHECK(e.error().detail.find("budget") != std::string::npos);
        CHECK(e.error().detail.find("127.0.0.1") != std::string::npos);
        CHECK(e.error().detail.find("--allow-unauthenticated") != std::string::npos);

        auto env = sources_with(home.path(), {{"PURSER_LISTEN", "[::]:8402"},
                                              {"PURSER_DEFAULT_AGENT", "bot"}});
        CHECK_FALSE(load_config(env));

        write(file, R"({"listen":"10.1.2.3:8402","default_agent":"bot"})");
        auto from_file = sources_with(home.path());
        from_file.file = file;
        CHECK_FALSE(load_config(from_file));

        // A file that allows it, overridden by an environment that does not.
        write(file, R"({"listen":"0.0.0.0:8402","default_agent":"bot",
                        "allow_unauthenticated":true})");
        auto overridden = sources_with(home.path(), {{"PURSER_ALLOW_UNAUTHENTICATED", "0"}});
        overridden.file = file;
        CHECK_FALSE(load_config(overridden));
    }
    SECTION("allowed on loopback, without default_agent, or with allow_unauthenticated") {
        for (const auto* listen : {"127.0.0.1:8402", "[::1]:8402", "localhost:8402"}) {
            auto s = sources_with(home.path());
            s.flags["listen"] = {listen};
            s.flags["default-agent"] = {"bot"};
            CHECK(load_config(s));
        }
        auto no_default = sources_with(home.path());
        no_default.flags["listen"] = {"0.0.0.0:8402"};
        CHECK(load_config(no_default));

        auto flag = sources_with(home.path());
        flag.flags["listen"] = {"0.0.0.0:8402"};
        flag.flags["default-agent"] = {"bot"};
        flag.flags["allow-unauthenticated"] = {""};
        auto c = load_config(flag);
        REQUIRE(c);
        CHECK((*c)->allow_unauthenticated);

        auto env = sources_with(home.path(), {{"PURSER_LISTEN", "0.0.0.0:8402"},
                                              {"PURSER_DEFAULT_AGENT", "bot"},
                                              {"PURSER_ALLOW_UNAUTHENTICATED", "1"}});
        CHECK(load_config(env));

        write(file, R"({"listen":"0.0.0.0:8402","default_agent":"bot",
                        "allow_unauthenticated":true})");
        auto from_file = sources_with(home.path());
        from_file.file = file;
        CHECK(load_config(from_file));
    }
}

TEST_CASE("underscore_headers and allow_get_body_hosts", "[proxy]") {
    purser::test::temp_dir home;
    auto d = *load_config(sources_with(home.path()));
    CHECK(d->underscore_headers == underscore_policy::drop);
    CHECK(d->allow_get_body_hosts.empty());
    auto env = sources_with(home.path(), {{"PURSER_UNDERSCORE_HEADERS", "reject"},
                                          {"PURSER_ALLOW_GET_BODY_HOSTS", "*.es.example,db"}});
    auto c = load_config(env);
    REQUIRE(c);
    CHECK((*c)->underscore_headers == underscore_policy::reject);
    CHECK((*c)->allow_get_body_hosts == std::vector<std::string>{"*.es.example", "db"});
    env.flags["underscore-headers"] = {"allow"};
    CHECK((*load_config(env))->underscore_headers == underscore_policy::allow);
    env.flags["underscore-headers"] = {"keep"};
    auto e = load_config(env);
    REQUIRE_FALSE(e);
    CHECK(e.error().detail.find("underscore-headers") != std::string::npos);
}

TEST_CASE("config records where each key came from", "[proxy]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "proxy.json";
    write(file, R"({"listen":"127.0.0.1:9001","threads":3,"log":"/tmp/a.log"})");
    auto s = sources_with(home.path(), {{"PURSER_THREADS", "5"}, {"PURSER_STORE_DIR", "/srv/st"}});
    s.file = file;
    s.flags["log"] = {"/tmp/b.log"};
    s.flags["no-payments"] = {""};
    auto c = load_config(s);
    REQUIRE(c);
    std::map<std::string, setting> rows;
    for (auto& r : describe_config(**c)) rows[r.key] = r;
    CHECK(rows.at("listen").source == "file:" + file.string());
    CHECK(rows.at("listen").value == "127.0.0.1:9001");
    CHECK(rows.at("threads").source == "env:PURSER_THREADS");
    CHECK(rows.at("threads").value == 5);
    CHECK(rows.at("store_dir").source == "env:PURSER_STORE_DIR");
    CHECK(rows.at("store_dir").value == "/srv/st");
    CHECK(rows.at("log").source == "flag:--log");
    CHECK(rows.at("log").value == "/tmp/b.log");
    CHECK(rows.at("no_payments").source == "flag:--no-payments");
    CHECK(rows.at("no_payments").value == true);
    CHECK(rows.at("ca_dir").source == "default");
    CHECK(rows.at("ca_dir").value == (home.path() / "ca").string());
    CHECK(rows.at("default_agent").value.is_null());
    CHECK(rows.at("intercept").value == nlohmann::json::array({"*"}));
    CHECK(rows.at("underscore_headers").value == "drop");
}

TEST_CASE("every config key has a variable, a shown value, and is settable from it", "[proxy]") {
    purser::test::temp_dir home;
    auto c = load_config(sources_with(home.path()));
    REQUIRE(c);
    const auto rows = describe_config(**c);
    CHECK(rows.size() == config_flag_names().size() + config_switch_names().size());
    for (const auto& r : rows) {
        INFO(r.key);
        CHECK(r.env == env_name(r.key));
        CHECK(r.source == "default");
        if (!r.secret) CHECK(r.value != "(not shown)");
        // The default, given back through the key's own variable, loads and reads back the same
        // (what a container configured only by environment relies on).
        if (r.secret || r.value.is_null()) continue;
        std::string text;
        if (r.value.is_string()) text = r.value.get<std::string>();
        else if (r.value.is_array()) {
            for (const auto& item : r.value)
                text += (text.empty() ? "" : ",") + item.get<std::string>();
            if (text.empty()) continue;  // an empty list has no spelling in one variable
        } else text = r.value.dump();
        auto again = load_config(sources_with(home.path(), {{r.env, text}}));
        REQUIRE(again);
        for (const auto& r2 : describe_config(**again)) {
            if (r2.key != r.key) continue;
            CHECK(r2.source == "env:" + r.env);
            CHECK(r2.value == r.value);
        }
    }
}

TEST_CASE("env_name upper-cases the key after PURSER_", "[proxy]") {
    CHECK(env_name("store_dir") == "PURSER_STORE_DIR");
    CHECK(env_name("max_402_body") == "PURSER_MAX_402_BODY");
}

TEST_CASE("config show hides what an RPC URL may carry: path, query, user", "[proxy]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "proxy.json";
    write(file, R"({"payment":{"max_window_seconds":60,"rpc":{
        "base":"https://base.example/v2/SECRETKEY","base-sepolia":"https://u:SECRETPW@rpc.example",
        "eip155:1":"http://127.0.0.1:8545"}}})");
    auto s = sources_with(home.path());
    s.file = file;
    auto c = load_config(s);
    REQUIRE(c);
    for (const auto& r : describe_config(**c)) {
        if (r.key != "payment") continue;
        CHECK(r.value.dump().find("SECRET") == std::string::npos);
        CHECK(r.value["rpc"]["base"] == "https://base.example/(redacted)");
        CHECK(r.value["rpc"]["base-sepolia"] == "https://(redacted)@rpc.example");
        CHECK(r.value["rpc"]["eip155:1"] == "http://127.0.0.1:8545");
        CHECK(r.value["max_window_seconds"] == 60);
    }
    // The proxy itself still has the whole URL.
    CHECK((*c)->payment["rpc"]["base"] == "https://base.example/v2/SECRETKEY");
}

TEST_CASE("config admin_listen takes a default or off or an address and names nonsense", "[proxy]") {
    purser::test::temp_dir home;
    auto c = load_config(sources_with(home.path()));
    REQUIRE(c);
    CHECK((*c)->admin_listen == "127.0.0.1:8403");
    CHECK_FALSE((*c)->admin_token_file);

    auto s = sources_with(home.path(), {{"PURSER_ADMIN_LISTEN", "off"},
                                        {"PURSER_ADMIN_TOKEN_FILE", "/run/secrets/admin"}});
    c = load_config(s);
    REQUIRE(c);
    CHECK((*c)->admin_listen == "off");
    CHECK((*c)->admin_token_file == std::filesystem::path("/run/secrets/admin"));

    s.flags["admin-listen"] = {"[::1]:0"};
    c = load_config(s);
    REQUIRE(c);
    CHECK((*c)->admin_listen == "[::1]:0");

    s.flags["admin-listen"] = {"nowhere"};
    c = load_config(s);
    REQUIRE_FALSE(c);
    CHECK(c.error().detail.find("admin") != std::string::npos);
}

TEST_CASE("the fleet section: file object, its variables and flags, errors naming the key", "[proxy]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "proxy.json";
    write(file, R"({"fleet":{"database":"postgresql://purser@127.0.0.1:5432/fleet",
                             "password_file":"/run/secrets/pg","proxy_id":"pod-7",
                             "budgets":{"*":["org"],"research-1":["research","org","org"]},
                             "lease_min":"0.05","lease_max":"2.5"}})");
    auto s = sources_with(home.path());
    s.file = file;
    auto c = load_config(s);
    REQUIRE(c);
    const fleet_settings& f = (*c)->fleet;
    CHECK(f.enabled());
    CHECK(f.database == "postgresql://purser@127.0.0.1:5432/fleet");
    CHECK(f.password_file == std::filesystem::path("/run/secrets/pg"));
    CHECK(f.proxy_id == "pod-7");
    CHECK(f.lease_min_micros == 50'000);
    CHECK(f.lease_max_micros == 2'500'000);
    CHECK(f.budgets_of("research-1") == std::vector<std::string>{"org", "research"});
    CHECK(f.budgets_of("anyone") == std::vector<std::string>{"org"});
    CHECK((*c)->origin.at("fleet.proxy_id") == "file:" + file.string());

    // The variables the budget CLI already reads, and flags, win over the file.
    auto s2 = sources_with(home.path(), {{"PURSER_FLEET_DB", "postgresql://other@db/x"},
                                         {"PURSER_FLEET_PROXY_ID", "from-env"}});
    s2.file = file;
    s2.flags["fleet-lease-max"] = {"3"};
    auto c2 = load_config(s2);
    REQUIRE(c2);
    CHECK((*c2)->fleet.database == "postgresql://other@db/x");
    CHECK((*c2)->fleet.proxy_id == "from-env");
    CHECK((*c2)->fleet.lease_max_micros == 3'000'000);
    CHECK((*c2)->origin.at("fleet.database") == "env:PURSER_FLEET_DB");
    CHECK((*c2)->origin.at("fleet.lease_max") == "flag:--fleet-lease-max");
    CHECK(env_name("fleet.database") == "PURSER_FLEET_DB");
    CHECK(env_name("fleet.lease_min") == "PURSER_FLEET_LEASE_MIN");
    CHECK(config_key("fleet-proxy-id") == "fleet.proxy_id");

    auto fails_with = [&](const std::string& text, const std::string& needle) {
        write(file, text);
        auto bad = load_config(s);
        INFO(text);
        REQUIRE_FALSE(bad);
        INFO(bad.error().detail);
        CHECK(bad.error().detail.find(needle) != std::string::npos);
    };
    fails_with(R"({"fleet":{"database":"x","lease_min":"3","lease_max":"2"}})", "fleet.lease_min");
    fails_with(R"({"fleet":{"database":"x","lease_min":0.5}})", "fleet.lease_min");
    fails_with(R"({"fleet":{"database":"x","lease_max":"0"}})", "fleet.lease_max");
    fails_with(R"({"fleet":{"database":"x","budgets":{"a":["Bad Name"]}}})", "fleet.budgets");
    fails_with(R"({"fleet":{"database":"x","budgets":{"a":"org"}}})", "fleet.budgets");
    fails_with(R"({"fleet":{"budgets":{"*":["org"]}}})", "fleet.database");
    fails_with(R"({"fleet":{"proxy_id":"has space"}})", "fleet.proxy_id");
    fails_with(R"({"fleet":{"databse":"x"}})", "fleet.databse");
    fails_with(R"({"fleet":"postgresql://x"})", "fleet");
    fails_with(R"({"fleet.database":"x"})", "fleet.database");
}

TEST_CASE("config show never prints a password written into fleet.database", "[proxy]") {
    purser::test::temp_dir home;
    for (const std::string db : {"postgresql://purser:SECRETPW@db.example:5432/fleet",
                                 "host=db.example user=purser password=SECRETPW dbname=fleet"}) {
        auto c = load_config(sources_with(home.path(), {{"PURSER_FLEET_DB", db}}));
        REQUIRE(c);
        for (const auto& r : describe_config(**c)) {
            if (r.key != "fleet.database") continue;
            CHECK(r.env == "PURSER_FLEET_DB");
            CHECK(r.source == "env:PURSER_FLEET_DB");
            CHECK(r.value.dump().find("SECRETPW") == std::string::npos);
            CHECK(r.value.dump().find("db.example") != std::string::npos);
        }
    }
}
