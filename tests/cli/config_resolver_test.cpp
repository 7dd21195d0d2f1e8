// The one resolver every subcommand reads its configuration through: precedence (flags >
// environment > file > defaults), the source named for each value, PURSER_HOME as the base of
// the defaults, and secrets that are listed but never shown.
#include "config_resolver.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "command_table.hpp"
#include "purser/proxy/errc.hpp"
#include "test_support.hpp"

namespace {

using purser::cli::options;

/// Sets environment variables for one test and puts back what was there before.
class env_guard {
public:
    void set(const std::string& name, const std::string& value) {
        remember(name);
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    void unset(const std::string& name) {
        remember(name);
        ::unsetenv(name.c_str());
    }
    env_guard() = default;
    env_guard(const env_guard&) = delete;
    env_guard& operator=(const env_guard&) = delete;
    ~env_guard() {
        for (const auto& [name, value] : saved_) {
            if (value) ::setenv(name.c_str(), value->c_str(), 1);
            else ::unsetenv(name.c_str());
        }
    }

private:
    void remember(const std::string& name) {
        if (saved_.count(name) != 0) return;
        const char* v = std::getenv(name.c_str());
        saved_[name] = v == nullptr ? std::nullopt : std::optional<std::string>(v);
    }
    std::map<std::string, std::optional<std::string>> saved_;
};

/// A clean slate: a fresh PURSER_HOME and none of the variables these tests set.
void isolate(env_guard& env, const std::filesystem::path& home) {
    env.set("PURSER_HOME", home.string());
    for (const char* v : {"PURSER_CONFIG", "PURSER_STORE_DIR", "PURSER_CA_DIR", "PURSER_KEYSTORE",
                          "PURSER_LISTEN", "PURSER_LOG", "PURSER_WALLET_PASSWORD",
                          "PURSER_WALLET_PASSWORD_FILE", "PURSER_IMPORT_PASSWORD",
                          "PURSER_DEFAULT_AGENT", "PURSER_THREADS"})
        env.unset(v);
}

options parse(const std::vector<std::string>& words) {
    auto o = options::parse(words, {"config", "keystore", "store-dir", "ca-dir", "listen", "log"});
    REQUIRE(o);
    return *o;
}

std::map<std::string, purser::cli::shown_setting> by_key(
    const std::vector<purser::cli::shown_setting>& rows) {
    std::map<std::string, purser::cli::shown_setting> out;
    for (const auto& r : rows) out[r.key] = r;
    return out;
}

}  // namespace

TEST_CASE("resolver: flags over environment over file over defaults, each source named", "[cli]") {
    purser::test::temp_dir home;
    env_guard env;
    isolate(env, home.path());
    const auto file = home.path() / "purser.json";
    std::ofstream(file) << R"({"store_dir": "/srv/file-store", "ca_dir": "/srv/file-ca",
                              "keystore": "/srv/file-key.json", "listen": "127.0.0.1:7001"})";
    env.set("PURSER_CA_DIR", "/srv/env-ca");
    env.set("PURSER_KEYSTORE", "/srv/env-key.json");
    const auto o = parse({"--config", file.string(), "--keystore", "/srv/flag-key.json"});

    auto cfg = purser::cli::resolve_config(o);
    REQUIRE(cfg);
    CHECK((*cfg)->store_dir == "/srv/file-store");     // file over default
    CHECK((*cfg)->ca_dir == "/srv/env-ca");            // environment over file
    CHECK((*cfg)->keystore == "/srv/flag-key.json");   // flag over environment
    CHECK((*cfg)->log == "-");                         // default
    CHECK(*purser::cli::keystore_path(o) == "/srv/flag-key.json");

    auto rows = by_key(purser::cli::effective_settings(o, **cfg));
    CHECK(rows.at("store_dir").source == "file:" + file.string());
    CHECK(rows.at("store_dir").value == "/srv/file-store");
    CHECK(rows.at("ca_dir").source == "env:PURSER_CA_DIR");
    CHECK(rows.at("keystore").source == "flag:--keystore");
    CHECK(rows.at("listen").value == "127.0.0.1:7001");
    CHECK(rows.at("log").source == "default");
    CHECK(rows.at("home").value == home.path().string());
    CHECK(rows.at("home").source == "env:PURSER_HOME");
    CHECK(rows.at("config").value == file.string());
    CHECK(rows.at("config").source == "flag:--config");
}

TEST_CASE("resolver: PURSER_HOME is the base of every default path", "[cli]") {
    purser::test::temp_dir home;
    env_guard env;
    isolate(env, home.path());
    const auto o = parse({});
    auto cfg = purser::cli::resolve_config(o);
    REQUIRE(cfg);
    CHECK((*cfg)->store_dir == home.path() / "store");
    CHECK((*cfg)->ca_dir == home.path() / "ca");
    CHECK((*cfg)->keystore == home.path() / "keystore.json");
    auto rows = by_key(purser::cli::effective_settings(o, **cfg));
    CHECK(rows.at("store_dir").source == "default");
    CHECK(rows.at("config").value.is_null());
    CHECK(rows.at("config").source == "default");
}

TEST_CASE("resolver: --config wins over PURSER_CONFIG, which works alone", "[cli]") {
    purser::test::temp_dir home;
    env_guard env;
    isolate(env, home.path());
    const auto a = home.path() / "a.json";
    const auto b = home.path() / "b.json";
    std::ofstream(a) << R"({"store_dir": "/srv/a"})";
    std::ofstream(b) << R"({"store_dir": "/srv/b"})";
    env.set("PURSER_CONFIG", a.string());
    const auto from_env = parse({});
    CHECK((*purser::cli::resolve_config(from_env))->store_dir == "/srv/a");
    CHECK(by_key(purser::cli::effective_settings(from_env, **purser::cli::resolve_config(from_env)))
              .at("config")
              .source == "env:PURSER_CONFIG");
    CHECK((*purser::cli::resolve_config(parse({"--config", b.string()})))->store_dir == "/srv/b");
    // Configuration entirely from the environment (a container): no file at all.
    env.unset("PURSER_CONFIG");
    env.set("PURSER_STORE_DIR", "/srv/env-store");
    CHECK((*purser::cli::resolve_config(parse({})))->store_dir == "/srv/env-store");
}

TEST_CASE("resolver: an unknown key in the config file is an error naming it", "[cli]") {
    purser::test::temp_dir home;
    env_guard env;
    isolate(env, home.path());
    const auto file = home.path() / "purser.json";
    const auto store = home.path() / "s";
    std::ofstream(file) << R"({"store_dir": ")" << store.string() << R"(", "stor_dir": "/x"})";
    auto cfg = purser::cli::resolve_config(parse({"--config", file.string()}));
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error().code == purser::proxy::errc::unknown_option);
    CHECK(cfg.error().detail.find("'stor_dir'") != std::string::npos);
    // The paths commands open go through the same check: nothing is opened on a bad file.
    CHECK_FALSE(purser::cli::open_proxy_store(parse({"--config", file.string()})));
    CHECK_FALSE(std::filesystem::exists(store));
}

TEST_CASE("resolver: a secret in the environment is listed as set, never by value", "[cli]") {
    purser::test::temp_dir home;
    env_guard env;
    isolate(env, home.path());
    env.set("PURSER_WALLET_PASSWORD", "hunter2-not-for-print");
    env.set("PURSER_WALLET_PASSWORD_FILE", (home.path() / "pw").string());
    const auto o = parse({});
    auto cfg = purser::cli::resolve_config(o);
    REQUIRE(cfg);
    const auto rows = purser::cli::effective_settings(o, **cfg);
    auto keyed = by_key(rows);
    REQUIRE(keyed.count("wallet_password") == 1);
    CHECK(keyed.at("wallet_password").secret);
    CHECK(keyed.at("wallet_password").value.is_null());
    CHECK(keyed.at("wallet_password").source == "env:PURSER_WALLET_PASSWORD");
    // The password file's path is configuration, not a secret: shown with its source.
    CHECK(keyed.at("wallet_password_file").value == (home.path() / "pw").string());
    CHECK(keyed.at("wallet_password_file").source == "env:PURSER_WALLET_PASSWORD_FILE");
    for (const auto& r : rows) CHECK(r.value.dump().find("hunter2") == std::string::npos);
    // Unset, it is not listed at all.
    env.unset("PURSER_WALLET_PASSWORD");
    CHECK(by_key(purser::cli::effective_settings(o, **cfg)).count("wallet_password") == 0);
}

TEST_CASE("every command that opens the wallet, store or CA takes --config", "[cli]") {
    for (const auto& c : purser::cli::command_table()) {
        const auto group = c.path.substr(0, c.path.find(' '));
        if (group != "proxy" && group != "agent" && group != "ledger" && group != "spend" &&
            group != "iou" && group != "wallet" && group != "ca" && group != "config")
            continue;
        INFO(c.path);
        bool has_config = false;
        for (const auto& o : c.options)
            if (o.name == "config" && o.env == "PURSER_CONFIG") has_config = true;
        CHECK(has_config);
    }
}
