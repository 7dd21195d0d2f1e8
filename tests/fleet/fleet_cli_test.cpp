// purser fleet migrate and purser budget ... (reconcile included) through the real binary, against a
// real PostgreSQL.
#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ledger_entries.hpp"
#include "postgres_server.hpp"
#include "process.hpp"
#include "purser/fleet/leases.hpp"
#include "purser/fleet/ledger.hpp"

using purser::test::run;

namespace {

/// The purser CLI with the fleet database of `pg` in its environment.
std::function<purser::test::run_result(std::vector<std::string>)> cli_on(const purser::test::postgres_server& pg) {
    const purser::test::env_map env{{"PURSER_FLEET_DB", pg.conninfo()},
                                    {"PURSER_FLEET_PASSWORD_FILE", pg.password_file().string()}};
    return [env](std::vector<std::string> args) {
        args.insert(args.begin(), PURSER_BIN);
        return run(args, env);
    };
}

}  // namespace

TEST_CASE("purser fleet migrate and purser budget manage the fleet budgets in PostgreSQL", "[fleet][cli]") {
    purser::test::postgres_server pg;
    const auto purser = cli_on(pg);
    auto migrated = purser({"fleet", "migrate"});
    INFO(migrated.out + migrated.err);
    REQUIRE(migrated.exit_code == 0);
    CHECK(migrated.out.find("from schema 0 to 2") != std::string::npos);
    CHECK(purser({"fleet", "migrate"}).out.find("already at schema 2") != std::string::npos);

    REQUIRE(purser({"budget", "add", "research", "--period", "day", "--cap", "200"}).exit_code == 0);
    REQUIRE(purser({"budget", "add", "org", "--period", "month", "--cap", "5000"}).exit_code == 0);
    auto dup = purser({"budget", "add", "org", "--cap", "1"});
    CHECK(dup.exit_code != 0);
    CHECK(dup.err.find("exists") != std::string::npos);
    CHECK(purser({"budget", "add", "bad name", "--cap", "1"}).exit_code != 0);
    CHECK(purser({"budget", "add", "x", "--cap", "1.0000001"}).exit_code != 0);  // micro-USD at most
    CHECK(purser({"budget", "add", "x", "--period", "week", "--cap", "1"}).exit_code != 0);
    REQUIRE(purser({"budget", "set", "research", "--cap", "150.5"}).exit_code == 0);

    auto listed = purser({"budget", "list", "--format", "json"});
    REQUIRE(listed.exit_code == 0);
    std::vector<nlohmann::json> rows;
    std::istringstream lines(listed.out);
    for (std::string line; std::getline(lines, line);) rows.push_back(nlohmann::json::parse(line));
    REQUIRE(rows.size() == 2);
    CHECK(rows[1]["name"] == "research");
    CHECK(rows[1]["cap"] == "150.5");
    CHECK(rows[1]["period"] == "day");
    CHECK(rows[1]["left"] == "150.5");
    auto table = purser({"budget", "list"});
    CHECK(table.out.find("research") != std::string::npos);
    CHECK(purser({"budget", "show", "org"}).out.find("5000") != std::string::npos);
    CHECK(purser({"budget", "show", "nobody"}).exit_code != 0);

    // No database given, or a wrong password: clear errors, nothing changed.
    auto none = run({PURSER_BIN, "budget", "list"});
    CHECK(none.exit_code != 0);
    CHECK(none.err.find("PURSER_FLEET_DB") != std::string::npos);
    purser::test::temp_dir tmp;
    const auto wrong = tmp.path() / "wrong";
    std::ofstream(wrong) << "not-it\n";
    std::filesystem::permissions(wrong, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto refused = run({PURSER_BIN, "budget", "list", "--db", pg.conninfo(), "--db-password-file", wrong.string()});
    CHECK(refused.exit_code != 0);
    CHECK(refused.err.find("password authentication failed") != std::string::npos);
    CHECK(refused.err.find("not-it") == std::string::npos);
}

TEST_CASE("purser budget reconcile returns a vanished proxy's leases minus what its rows count", "[fleet][cli]") {
    purser::test::postgres_server pg;
    const auto purser = cli_on(pg);
    REQUIRE(purser({"fleet", "migrate"}).exit_code == 0);
    REQUIRE(purser({"budget", "add", "org", "--period", "lifetime", "--cap", "1"}).exit_code == 0);
    auto c = purser::fleet::connection::open({pg.conninfo(), pg.password()});
    REQUIRE(c);
    const auto now_s = static_cast<std::uint64_t>(std::time(nullptr));
    auto lease = purser::fleet::acquire_lease(**c, "org", "pod-9", 500'000, 1, now_s);
    REQUIRE(lease);
    REQUIRE(*lease);
    // The pod shipped one $0.001 payment after its lease came, then vanished.
    REQUIRE(purser::fleet::ship_rows(**c, "pod-9", {purser::test::entry(1, 1, "paid", "bot", now_s * 1000 + 2'000)}));
    auto committed = [&] {
        auto shown = purser({"budget", "show", "org", "--format", "json"});
        return nlohmann::json::parse(shown.out)["committed"].get<std::string>();
    };
    REQUIRE(committed() == "0.5");

    auto no_proxy = purser({"budget", "reconcile"});
    CHECK(no_proxy.exit_code == 2);
    CHECK(no_proxy.err.find("--proxy") != std::string::npos);
    CHECK(purser({"budget", "--help"}).out.find("reconcile") != std::string::npos);

    auto dry = purser({"budget", "reconcile", "--proxy", "pod-9", "--dry-run"});
    INFO(dry.out << dry.err);
    REQUIRE(dry.exit_code == 0);
    CHECK(dry.out.find("0.499") != std::string::npos);
    CHECK(dry.out.find("dry run: nothing changed") != std::string::npos);
    CHECK(committed() == "0.5");

    auto done = purser({"budget", "reconcile", "--proxy", "pod-9", "--format", "json"});
    INFO(done.out << done.err);
    REQUIRE(done.exit_code == 0);
    const auto line = nlohmann::json::parse(done.out);
    CHECK(line["lease"] == (*lease)->id);
    CHECK(line["granted"] == "0.5");
    CHECK(line["spent"] == "0.001");
    CHECK(line["returned"] == "0.499");
    CHECK(line["dry_run"] == false);
    CHECK(committed() == "0.001");
    CHECK(purser({"budget", "reconcile", "--proxy", "pod-9"}).out.find("holds no active lease") != std::string::npos);
}
