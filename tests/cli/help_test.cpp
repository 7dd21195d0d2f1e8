// `--help` on every command: rc 0, on stdout, naming every option the parser accepts. The option
// lists come from the same table the parser reads, so a new option without help fails here.
#include "command_table.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

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
