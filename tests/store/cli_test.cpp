// The purser binary on a store this test process holds open at the same time.
#include "purser/store/store.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::run_cli;
using purser::test::usdc_request;

namespace {

/// A strict RFC 4180 parser: CRLF record ends, fields quoted only as a whole, "" inside quotes,
/// no stray quotes, every record the same width. Fails the test on any violation.
std::vector<std::vector<std::string>> parse_csv_strict(const std::string& text) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    std::size_t i = 0;
    bool record_open = false;
    while (i < text.size()) {
        record_open = true;
        if (text[i] == '"') {
            ++i;
            for (;;) {
                REQUIRE(i < text.size());  // an unterminated quoted field
                if (text[i] == '"') {
                    if (i + 1 < text.size() && text[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += text[i++];
            }
            REQUIRE((i == text.size() || text[i] == ',' || text[i] == '\r'));
        } else {
            while (i < text.size() && text[i] != ',' && text[i] != '\r') {
                REQUIRE(text[i] != '"');   // a quote inside an unquoted field
                REQUIRE(text[i] != '\n');  // a bare LF
                field += text[i++];
            }
        }
        record.push_back(std::move(field));
        field.clear();
        if (i < text.size() && text[i] == ',') {
            ++i;
            continue;
        }
        REQUIRE(i + 1 < text.size());
        REQUIRE(text[i] == '\r');
        REQUIRE(text[i + 1] == '\n');
        i += 2;
        records.push_back(std::move(record));
        record.clear();
        record_open = false;
    }
    REQUIRE_FALSE(record_open);
    for (const auto& r : records) REQUIRE(r.size() == records.front().size());
    return records;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        out.push_back(text.substr(start, nl - start));
    }
    REQUIRE(start == text.size());
    return out;
}

}  // namespace

TEST_CASE("purser agent freeze reaches a process holding the store open", "[store][cli]") {
    purser::test::temp_dir home;
    auto s = std::move(store::open(home.path() / "store").value());
    REQUIRE(s->add_agent("worker", {}));
    auto first = s->reserve(usdc_request("worker", 1000)).value();
    REQUIRE(first.approved);

    REQUIRE(run_cli(home.path().string(), "agent freeze worker").code == 0);
    auto d = s->reserve(usdc_request("worker", 1000)).value();
    CHECK_FALSE(d.approved);
    CHECK(d.why == reason::agent_frozen);

    REQUIRE(run_cli(home.path().string(), "agent unfreeze worker").code == 0);
    CHECK(s->reserve(usdc_request("worker", 1000))->approved);

    // The CLI's own recovery did not touch this live process's open reservation.
    CHECK(s->get_row(first.reservation_id)->state == status::reserved);

    // A policy change applies the same way.
    REQUIRE(run_cli(home.path().string(), "agent set worker --per-request 0.0005").code == 0);
    CHECK(s->reserve(usdc_request("worker", 1000))->why == reason::per_request_limit_exceeded);
    CHECK(s->check_counters().value() == "");
}

TEST_CASE("purser agent remove: refused with money in flight, then the token stops working",
          "[store][cli]") {
    purser::test::temp_dir home;
    auto s = std::move(store::open(home.path() / "store").value());
    auto creds = s->add_agent("worker", {});
    REQUIRE(creds);
    auto open = s->reserve(usdc_request("worker", 1000)).value();
    REQUIRE(open.approved);
    CHECK(run_cli(home.path().string(), "agent remove worker").code == 1);
    CHECK(s->authenticate("worker", creds->token));

    settlement facts;
    facts.tx_hash = "0x" + std::string(64, 'b');
    REQUIRE(s->commit(open.reservation_id, facts));
    auto removed = run_cli(home.path().string(), "agent remove worker");
    CHECK(removed.code == 0);
    CHECK(removed.out.find("agent 'worker' removed") != std::string::npos);
    CHECK(s->authenticate("worker", creds->token).error().code == errc::agent_not_found);
    CHECK(run_cli(home.path().string(), "agent list").out.find("worker") == std::string::npos);
    CHECK(run_cli(home.path().string(), "ledger --agent worker --format json").out.find("\"paid\"") !=
          std::string::npos);
}

TEST_CASE("purser ledger prune archives paid rows as JSON lines before deleting them", "[store][cli]") {
    purser::test::temp_dir home;
    {
        // Rows decided at t0 (2026-11-23), days before the CLI's own clock.
        purser::test::manual_clock clock;
        open_options o;
        o.clock = clock.fn();
        auto s = std::move(store::open(home.path() / "store", o).value());
        REQUIRE(s->add_agent("old", {}));
        auto paid = s->reserve(usdc_request("old", 1000)).value();
        settlement facts;
        facts.tx_hash = "0x" + std::string(64, 'd');
        REQUIRE(s->commit(paid.reservation_id, facts));
        REQUIRE(s->set_frozen("old", true));
        REQUIRE(s->reserve(usdc_request("old", 1000)).value().why == reason::agent_frozen);
    }
    const std::string h = home.path().string();
    auto kept = run_cli(h, "ledger prune --before 1d");
    CHECK(kept.code == 0);
    CHECK(kept.out.find("pruned 1 rows") != std::string::npos);
    CHECK(kept.out.find("kept 1 paid rows") != std::string::npos);

    const auto archive = home.path() / "archive.jsonl";
    auto pruned = run_cli(h, "ledger prune --before 1d --archive '" + archive.string() + "'");
    CHECK(pruned.code == 0);
    CHECK(pruned.out.find("pruned 1 rows") != std::string::npos);
    const auto lines = purser::test::read_file(archive);
    CHECK(lines.find("\"status\":\"paid\"") != std::string::npos);
    CHECK(lines.find(std::string(64, 'd')) != std::string::npos);
    struct stat st {};
    REQUIRE(::stat(archive.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(run_cli(h, "ledger --since 30d --format json").out.find("paid") == std::string::npos);
    CHECK(run_cli(h, "ledger prune").code == 2);  // --before is required
}

TEST_CASE("agent add prints credentials that authenticate, once", "[store][cli]") {
    purser::test::temp_dir home;
    const auto h = home.path().string();
    auto r = run_cli(h, "agent add bot --daily 5 --per-request 0.10 --allowance 20 --rate 60 "
                        "--in-flight 1 --monthly 100 --lifetime 1000 --allow-host '*.example.com' "
                        "--deny-host bad.example.com --allow-network eip155:31337 --allow-asset USDC");
    REQUIRE(r.code == 0);
    const auto at = r.out.find("HTTP_PROXY=http://bot:");
    REQUIRE(at != std::string::npos);
    const std::string token = r.out.substr(at + 22, 64);
    CHECK(r.out.find(token + "@127.0.0.1:8402") != std::string::npos);

    auto s = std::move(store::open(home.path() / "store").value());
    auto a = s->authenticate("bot", token);
    REQUIRE(a);
    CHECK(a->limits.daily == 5'000'000u);
    CHECK(a->limits.per_request == 100'000u);
    CHECK(a->limits.monthly == 100'000'000u);
    CHECK(a->limits.lifetime == 1'000'000'000u);
    CHECK(a->limits.in_flight == 1'000'000u);
    CHECK(a->limits.payments_per_minute == 60u);
    CHECK(a->allowance == 20'000'000u);
    CHECK(a->limits.allow_hosts == std::vector<std::string>{"*.example.com"});
    CHECK(a->limits.deny_hosts == std::vector<std::string>{"bad.example.com"});

    auto show = run_cli(h, "agent show bot");
    REQUIRE(show.code == 0);
    CHECK(show.out.find(token) == std::string::npos);  // shown once, never again
    CHECK(show.out.find("$20") != std::string::npos);

    REQUIRE(run_cli(h, "agent fund bot --amount 2.5").code == 0);
    CHECK(s->get_agent("bot")->allowance == 22'500'000u);
    auto rotated = run_cli(h, "agent rotate-token bot");
    REQUIRE(rotated.code == 0);
    CHECK(s->authenticate("bot", token).error().code == errc::bad_credentials);
    REQUIRE(run_cli(h, "agent set bot --daily none --allow-host none").code == 0);
    CHECK_FALSE(s->get_agent("bot")->limits.daily);
    CHECK(s->get_agent("bot")->limits.allow_hosts.empty());
    CHECK(run_cli(h, "agent list").out.find("bot") != std::string::npos);
}

TEST_CASE("agent add prints export lines for the configured listener", "[store][cli]") {
    purser::test::temp_dir home;
    const auto h = home.path().string();
    const std::string bin = "'" + std::string(PURSER_BIN) + "'";
    const std::string env = "env -u PURSER_LISTEN PURSER_HOME='" + h + "' ";

    auto r = run_cli(h, "agent add plain --per-request 0.10");
    REQUIRE(r.code == 0);
    CHECK(r.out.find("shown once") != std::string::npos);
    for (const char* var : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"}) {
        INFO(var);
        CHECK(r.out.find(std::string("export ") + var + "=http://plain:") != std::string::npos);
    }
    CHECK(r.out.find("@127.0.0.1:8402\n") != std::string::npos);

    auto flag = purser::test::run_shell(env + bin + " agent add six --listen '[::1]:9001'");
    REQUIRE(flag.exit_code == 0);
    CHECK(flag.out.find("@[::1]:9001\n") != std::string::npos);

    auto from_env = purser::test::run_shell(env + "PURSER_LISTEN=127.0.0.3:7001 " + bin +
                                            " agent add by-env");
    REQUIRE(from_env.exit_code == 0);
    CHECK(from_env.out.find("@127.0.0.3:7001\n") != std::string::npos);

    const auto cfg = home.path() / "proxy.json";
    {
        std::ofstream f(cfg);
        f << R"({"listen": "127.0.0.2:7000"})";
    }
    auto from_file = purser::test::run_shell(env + bin + " agent rotate-token plain --config '" +
                                             cfg.string() + "'");
    REQUIRE(from_file.exit_code == 0);
    CHECK(from_file.out.find("export HTTPS_PROXY=http://plain:") != std::string::npos);
    CHECK(from_file.out.find("@127.0.0.2:7000\n") != std::string::npos);
}

TEST_CASE("agent add without limits gets conservative defaults unless --unlimited", "[store][cli]") {
    purser::test::temp_dir home;
    const auto h = home.path().string();
    auto careful = run_cli(h, "agent add careful");
    REQUIRE(careful.code == 0);
    CHECK(careful.out.find("defaults apply") != std::string::npos);
    auto open = run_cli(h, "agent add open --unlimited");
    REQUIRE(open.code == 0);
    CHECK(open.out.find("defaults") == std::string::npos);
    REQUIRE(run_cli(h, "agent add capped --allowance 3").code == 0);

    // Caps that cannot bind as written are warned about on stderr, and still applied.
    const std::string cli = "PURSER_HOME='" + h + "' '" + std::string(PURSER_BIN) + "' ";
    auto odd = purser::test::run_shell(cli + "agent add odd --per-request 5 --daily 1 2>&1 >/dev/null");
    CHECK(odd.exit_code == 0);
    CHECK(odd.out.find("below the per-request limit") != std::string::npos);
    auto month = purser::test::run_shell(cli + "agent set odd --daily 10 --monthly 2 2>&1 >/dev/null");
    CHECK(month.exit_code == 0);
    CHECK(month.out.find("monthly cap") != std::string::npos);
    auto fine = purser::test::run_shell(cli + "agent set odd --monthly 20 2>&1 >/dev/null");
    CHECK(fine.out.find("warning") == std::string::npos);

    auto s = std::move(store::open(home.path() / "store").value());
    CHECK(s->get_agent("careful")->limits.per_request == 100'000u);
    CHECK(s->get_agent("careful")->limits.daily == 1'000'000u);
    CHECK_FALSE(s->get_agent("open")->limits.per_request);
    CHECK_FALSE(s->get_agent("open")->limits.daily);
    CHECK_FALSE(s->get_agent("capped")->limits.per_request);  // an explicit limit: no defaults
    CHECK(s->get_agent("odd")->limits.monthly == 20'000'000u);
}

TEST_CASE("bad CLI input is refused and changes nothing", "[store][cli]") {
    purser::test::temp_dir home;
    const auto h = home.path().string();
    REQUIRE(run_cli(h, "agent add a --daily 5 --allowance 1").code == 0);
    auto snapshot = [&] {
        return run_cli(h, "agent show a").out + run_cli(h, "agent list").out +
               run_cli(h, "ledger --since 30d --format json").out;
    };
    const auto before = snapshot();
    CHECK(run_cli(h, "agent add 'bad/name'").code != 0);
    CHECK(run_cli(h, "agent add b --daily -1").code == 2);
    CHECK(run_cli(h, "agent add b --daily 1.0000001").code == 2);
    CHECK(run_cli(h, "agent add b --daily 99999999999999999999").code == 2);
    CHECK(run_cli(h, "agent add b --daily five").code == 2);
    CHECK(run_cli(h, "agent add b --rate 1.5").code == 2);
    CHECK(run_cli(h, "agent add b --allow-host 'a.*.com'").code != 0);
    CHECK(run_cli(h, "agent add b --frobnicate 1").code == 2);
    CHECK(run_cli(h, "agent add a").code != 0);  // exists
    CHECK(run_cli(h, "agent set a --daily abc").code == 2);
    CHECK(run_cli(h, "agent set ghost --daily 1").code != 0);
    CHECK(run_cli(h, "agent fund a --amount -3").code == 2);
    CHECK(run_cli(h, "agent fund a --amount 99999999999999999999").code == 2);
    CHECK(run_cli(h, "agent fund a --amount 9223372036854").code != 0);  // allowance overflow
    CHECK(run_cli(h, "agent fund ghost --amount 1").code != 0);
    CHECK(run_cli(h, "agent freeze ghost").code != 0);
    CHECK(run_cli(h, "ledger --format xml").code == 2);
    CHECK(run_cli(h, "ledger --since yesterday").code == 2);
    CHECK(run_cli(h, "ledger --status settled").code == 2);
    CHECK(run_cli(h, "spend --by month").code == 2);
    CHECK(snapshot() == before);
    CHECK(run_cli(h, "agent show b").code != 0);
}

TEST_CASE("ledger CSV is strict RFC 4180 and agrees with JSON row for row", "[store][cli]") {
    purser::test::temp_dir home;
    auto s = std::move(store::open(home.path() / "store").value());
    REQUIRE(s->add_agent("csv", {}, 1'000'000));
    auto q = usdc_request("csv", 10'000, 4'000'000'000ULL);
    q.url = "https://api.example.com/search?q=a,b&x=\"quoted\"";
    auto d1 = s->reserve(q).value();
    REQUIRE(s->commit(d1.reservation_id, {"0xabc", {}, 200, 42}));
    auto d2 = s->reserve(q).value();
    REQUIRE(s->fail(d2.reservation_id, "merchant said:\r\n\"no, thanks\"", 402));
    auto d3 = s->reserve(usdc_request("csv", 2'000'000)).value();  // declined: allowance
    REQUIRE_FALSE(d3.approved);
    REQUIRE(s->record_decline(usdc_request("csv", 5), reason::no_supported_offer, "x,y"));
    REQUIRE(s->reserve(usdc_request("nobody", 5)));

    const auto h = home.path().string();
    auto csv = run_cli(h, "ledger --since 1h --format csv");
    auto json = run_cli(h, "ledger --since 1h --format json");
    REQUIRE(csv.code == 0);
    REQUIRE(json.code == 0);
    const auto records = parse_csv_strict(csv.out);
    const auto json_lines = lines(json.out);
    REQUIRE(records.size() == 1 + s->list_ledger({})->size());
    REQUIRE(json_lines.size() + 1 == records.size());
    const auto& header = records.front();
    for (std::size_t i = 0; i < json_lines.size(); ++i) {
        auto obj = nlohmann::ordered_json::parse(json_lines[i]);
        REQUIRE(obj.size() == header.size());
        std::size_t col = 0;
        for (auto it = obj.begin(); it != obj.end(); ++it, ++col) {
            CHECK(it.key() == header[col]);
            // Numbers in JSON, text in CSV; null where CSV has an empty field.
            if (it.value().is_number_unsigned()) {
                CHECK(std::to_string(it.value().get<std::uint64_t>()) == records[i + 1][col]);
            } else if (it.value().is_null()) {
                CHECK(records[i + 1][col].empty());
            } else {
                CHECK(it.value().get<std::string>() == records[i + 1][col]);
            }
        }
    }
    // Spot checks: the tricky fields came through intact.
    CHECK(records[1][4] == q.url);
    CHECK(records[2][17] == "merchant said:\r\n\"no, thanks\"");
    CHECK(records[3][16] == "insufficient_allowance");
    CHECK(records[5][16] == "agent_unknown");

    auto filtered = run_cli(h, "ledger --since 1h --format json --agent csv --status paid");
    REQUIRE(lines(filtered.out).size() == 1);
    auto spend = run_cli(h, "spend --by agent --format json");
    REQUIRE(spend.code == 0);
    CHECK(spend.out.find("\"agent\":\"csv\"") != std::string::npos);
    CHECK(run_cli(h, "spend --by day").code == 0);
    CHECK(run_cli(h, "ledger").code == 0);

    // JSON: ids, versions, statuses and latencies are numbers; amounts stay decimal strings.
    auto first = nlohmann::json::parse(json_lines.at(0));
    CHECK(first["id"].is_number_unsigned());
    CHECK(first["id"].get<std::uint64_t>() == d1.reservation_id);
    CHECK(first["merchant_status"] == 200);
    CHECK(first["latency_ms"] == 42);
    CHECK(first["amount"].is_string());
    auto declined = nlohmann::json::parse(json_lines.at(2));
    CHECK(declined["merchant_status"].is_null());
}

TEST_CASE("ledger table shows causes full hashes and URLs and ledger show prints one row", "[store][cli]") {
    purser::test::temp_dir home;
    auto s = std::move(store::open(home.path() / "store").value());
    REQUIRE(s->add_agent("t", {}, 1'000'000));
    auto q = usdc_request("t", 10'000, 4'000'000'000ULL);
    q.url = "https://api.example.com/report";
    const std::string tx = "0x" + std::string(64, 'a');
    auto paid = s->reserve(q).value();
    REQUIRE(s->commit(paid.reservation_id, {tx, {}, 200, 42}));
    auto failed = s->reserve(q).value();
    REQUIRE(s->fail(failed.reservation_id, "merchant refused: invalid signature for the payer", 402));

    const auto h = home.path().string();
    auto table = run_cli(h, "ledger --since 1h");
    REQUIRE(table.code == 0);
    CHECK(table.out.find("URL") != std::string::npos);
    CHECK(table.out.find(tx) != std::string::npos);
    CHECK(table.out.find("https://api.example.com/report") != std::string::npos);
    CHECK(table.out.find("merchant refused: invalid") != std::string::npos);  // the cause, cut to its column

    auto show = run_cli(h, "ledger show " + std::to_string(failed.reservation_id));
    REQUIRE(show.code == 0);
    for (const char* key : {"id:", "time:", "agent:", "url:", "status:", "detail:", "nonce:",
                            "pay_to:", "merchant_status:", "payer:"}) {
        CHECK(show.out.find(key) != std::string::npos);
    }
    CHECK(show.out.find("merchant refused: invalid signature for the payer") != std::string::npos);
    auto show_json = run_cli(h, "ledger show " + std::to_string(paid.reservation_id) + " --format json");
    REQUIRE(show_json.code == 0);
    auto j = nlohmann::json::parse(show_json.out);
    CHECK(j["id"] == paid.reservation_id);
    CHECK(j["tx_hash"] == tx);
    CHECK(run_cli(h, "ledger show 999999").code == 1);
    CHECK(run_cli(h, "ledger show x").code == 2);
}
