// `--help` on every command: rc 0, on stdout, naming every option the parser accepts. The option
// lists come from the same table the parser reads, so a new option without help fails here.
#include "command_table.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "purser/proxy/config.hpp"
#include "test_support.hpp"

namespace {

using purser::test::run_shell;

std::string bin() { return PURSER_BIN; }

purser::test::command_result run(const std::string& args) {
    purser::test::temp_dir home;
    return run_shell("PURSER_HOME='" + home.path().string() + "' " + bin() + " " + args +
                     " 2>/dev/null");
}

}  // namespace

TEST_CASE("every command answers --help with each option it accepts", "[cli]") {
    for (const auto& c : purser::cli::command_table()) {
        for (const char* spelling : {"--help", "-h"}) {
            INFO("purser " << c.path << " " << spelling);
            auto r = run(c.path + " " + spelling);
            CHECK(r.exit_code == 0);
            CHECK(r.out.find("usage: purser " + c.path) != std::string::npos);
            for (const auto& o : c.options) {
                INFO("--" << o.name);
                CHECK(r.out.find("--" + o.name) != std::string::npos);
                if (!o.env.empty()) CHECK(r.out.find(o.env) != std::string::npos);
                if (!o.default_value.empty()) {
                    CHECK(r.out.find("default " + o.default_value) != std::string::npos);
                }
            }
        }
    }
}

TEST_CASE("every command group answers --help and lists its commands", "[cli]") {
    std::set<std::string> groups;
    for (const auto& c : purser::cli::command_table()) groups.insert(c.path.substr(0, c.path.find(' ')));
    for (const auto& g : groups) {
        INFO("purser " << g << " --help");
        auto r = run(g + " --help");
        CHECK(r.exit_code == 0);
        for (const auto& c : purser::cli::command_table()) {
            if (c.path.rfind(g + " ", 0) == 0) CHECK(r.out.find(c.path) != std::string::npos);
        }
    }
}

TEST_CASE("top-level help lists every command and the environment", "[cli]") {
    auto r = run("--help");
    CHECK(r.exit_code == 0);
    for (const auto& c : purser::cli::command_table()) {
        INFO(c.path);
        CHECK(r.out.find(c.path) != std::string::npos);
    }
    for (const char* v : {"PURSER_HOME", "PURSER_KEYSTORE", "PURSER_WALLET_PASSWORD_FILE",
                          "PURSER_WALLET_PASSWORD", "PURSER_TESTNET_RPC", "PURSER_LISTEN"}) {
        CHECK(r.out.find(v) != std::string::npos);
    }
}

TEST_CASE("an unknown option is still an error", "[cli]") {
    auto r = run("wallet new --no-such-option");
    CHECK(r.exit_code == 2);
}

// proxy/README.md's option table is the reference a user reads: it must name exactly the options
// `purser proxy` accepts (flags, plus `payment`, which only a config file can hold), with the
// defaults `--help` prints.
TEST_CASE("proxy/README.md's option table matches what purser proxy accepts", "[cli]") {
    const std::string readme = purser::test::read_file(std::string(PURSER_SOURCE_DIR) + "/proxy/README.md");
    std::map<std::string, std::string> documented;  // key -> default cell
    std::size_t pos = 0;
    while ((pos = readme.find("\n| `", pos)) != std::string::npos) {
        const auto key_end = readme.find('`', pos + 4);
        const std::string key = readme.substr(pos + 4, key_end - pos - 4);
        // | `key` | type | default | meaning |
        const auto type_cell = readme.find('|', key_end);
        const auto default_cell = readme.find('|', type_cell + 1);
        const auto meaning_cell = readme.find('|', default_cell + 1);
        documented[key] = readme.substr(default_cell + 1, meaning_cell - default_cell - 1);
        pos = key_end;
    }
    std::set<std::string> accepted{"payment"};
    auto as_key = [](const std::string& flag) { return purser::proxy::config_key(flag); };
    for (const auto& f : purser::proxy::config_flag_names()) accepted.insert(as_key(f));
    for (const auto& f : purser::proxy::config_switch_names()) accepted.insert(as_key(f));
    std::set<std::string> keys;
    for (const auto& [k, d] : documented) keys.insert(k);
    CHECK(keys == accepted);

    const auto* proxy = purser::cli::find_command("proxy");
    REQUIRE(proxy != nullptr);
    for (const auto& o : proxy->options) {
        INFO(o.name);
        CHECK(o.help.find("see proxy/README.md") == std::string::npos);  // a line of its own
        if (o.default_value.empty()) continue;
        const auto it = documented.find(as_key(o.name));
        REQUIRE(it != documented.end());
        // The first word of the help's default ("0 (one per core)", "- (stderr)") is in the cell.
        const std::string first = o.default_value.substr(0, o.default_value.find(' '));
        INFO(o.name << ": help says " << o.default_value << ", README says " << it->second);
        CHECK(it->second.find(first) != std::string::npos);
    }
}

TEST_CASE("purser --version names the malloc that serves it", "[cli]") {
    auto r = run("--version");
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind("purser ", 0) == 0);
#ifdef PURSER_TCMALLOC
    // The build links tcmalloc: the loader must have bound malloc to it, not to libc's.
    CHECK(r.out.find("\nmalloc: tcmalloc (gperftools ") != std::string::npos);
#else
    CHECK(r.out.find("\nmalloc: glibc\n") != std::string::npos);
#endif
}
