// The admin listener of the real `purser proxy` against the testnet merchant: /metrics parses
// with the strict text-format parser and, after paid and declined requests, its counters equal
// what the ledger says; the JSON API freezes an agent for the very next request, and a missing
// or wrong token gets 401 and changes nothing.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <sstream>


#include "../admin/prom_text.hpp"
#include "world.hpp"

using purser::protocol::uint256;
using purser::test::http_reply;
using purser::test::world;
namespace prom = purser::test::prom;

namespace {

const std::string admin_token = "e2e-admin-token-0123456789";

http_reply admin_call(const world& w, const std::string& method, const std::string& path,
                      const std::string& auth = "Bearer " + admin_token,
                      const std::string& body = "") {
    REQUIRE_FALSE(w.admin_address().empty());
    std::vector<std::string> args{"--noproxy", "*", "-X", method};
    if (!auth.empty()) args.insert(args.end(), {"-H", "Authorization: " + auth});
    if (!body.empty()) args.insert(args.end(), {"-H", "Content-Type: application/json", "--data", body});
    args.push_back("http://" + w.admin_address() + path);
    return purser::test::curl(args);
}

std::vector<nlohmann::json> all_rows(const world& w) {
    auto r = w.purser({"ledger", "--format", "json", "--since", "24h"});
    REQUIRE(r.exit_code == 0);
    std::vector<nlohmann::json> rows;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line))
        if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
    return rows;
}

/// The samples of one family as label set -> value.
std::map<std::map<std::string, std::string>, std::string> samples(const prom::exposition& e,
                                                                  const std::string& name) {
    std::map<std::map<std::string, std::string>, std::string> out;
    auto f = e.find(name);
    if (f == e.end()) return out;
    for (const auto& s : f->second.samples) out[s.labels] = s.value;
    return out;
}

}  // namespace

TEST_CASE("admin metrics after paid and declined requests equal the ledger", "[e2e][admin]") {
    world w;
    auto payer = w.add_agent("payer", {"--per-request", "0.10", "--daily", "5"});
    auto frugal = w.add_agent("frugal", {"--per-request", "0.000001"});
    auto ice = w.add_agent("ice");
    REQUIRE(w.purser({"agent", "freeze", "ice"}).exit_code == 0);
    w.start_proxy({"--admin-token-file", w.write_admin_token(admin_token)});

    const std::string http = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    const std::string https = w.env("PURSER_TESTNET_MERCHANT_HTTPS") + "/weather";
    for (int i = 0; i < 3; ++i) REQUIRE(w.via_proxy("payer", payer, {http}).status == 200);
    REQUIRE(w.via_proxy("payer", payer, {https}).status == 200);
    for (int i = 0; i < 2; ++i) REQUIRE(w.via_proxy("frugal", frugal, {http}).status == 402);
    REQUIRE(w.via_proxy("ice", ice, {http}).status == 402);
    REQUIRE(w.via_proxy("payer", "wrong-token", {http}).status == 407);

    auto reply = admin_call(w, "GET", "/metrics");
    INFO(reply.raw);
    REQUIRE(reply.status == 200);
    CHECK(reply.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    prom::exposition e;
    REQUIRE_NOTHROW(e = prom::parse(reply.body));

    // What the ledger says, grouped as the metrics are.
    std::map<std::map<std::string, std::string>, uint256> paid;
    std::map<std::map<std::string, std::string>, std::uint64_t> declines;
    std::map<std::map<std::string, std::string>, std::uint64_t> payments;
    std::uint64_t paid_rows = 0;
    std::uint64_t declined_requests = 0;
    for (const auto& row : all_rows(w)) {
        const std::string status = row["status"];
        if (status == "declined") {
            declines[{{"reason", row["reason"]}}] += row["repeats"].get<std::uint64_t>();
            declined_requests += row["repeats"].get<std::uint64_t>();
            continue;
        }
        payments[{{"scheme", row["scheme"]}, {"status", status}}] += 1;
        if (status == "paid") {
            ++paid_rows;
            auto& sum = paid[{{"agent", row["agent"]}, {"asset", row["asset"]}, {"network", row["network"]}}];
            sum = *sum.add(*uint256::from_decimal(row["charged"].get<std::string>()));
        }
    }
    REQUIRE(paid_rows == 4);
    REQUIRE(declined_requests == 3);

    std::map<std::map<std::string, std::string>, std::string> paid_text;
    for (const auto& [labels, sum] : paid) paid_text[labels] = sum.to_decimal();
    CHECK(samples(e, "purser_paid_atomic_total") == paid_text);
    std::map<std::map<std::string, std::string>, std::string> declines_text;
    for (const auto& [labels, n] : declines) declines_text[labels] = std::to_string(n);
    CHECK(samples(e, "purser_declines_total") == declines_text);
    std::map<std::map<std::string, std::string>, std::string> payments_text;
    for (const auto& [labels, n] : payments) payments_text[labels] = std::to_string(n);
    CHECK(samples(e, "purser_payments_total") == payments_text);
    CHECK(samples(e, "purser_in_flight_atomic").empty());  // every signed payment settled

    const auto requests = samples(e, "purser_requests_total");
    CHECK(requests.at({{"outcome", "paid"}}) == std::to_string(paid_rows));
    CHECK(requests.at({{"outcome", "declined"}}) == std::to_string(declined_requests));
    CHECK(requests.at({{"outcome", "unauthorized"}}) == "1");
    CHECK(requests.at({{"outcome", "payment_unsettled"}}) == "0");
    CHECK(prom::value_of(e, "purser_payment_duration_seconds", "purser_payment_duration_seconds_count") ==
          std::to_string(paid_rows));
    // Each paid request reached the origin twice (the 402, then the paid retry).
    const auto upstream = prom::value_of(e, "purser_upstream_duration_seconds",
                                         "purser_upstream_duration_seconds_count");
    REQUIRE(upstream);
    CHECK(std::stoull(*upstream) >= 2 * paid_rows + declined_requests);
}

TEST_CASE("the admin API freezes an agent for its next request and a bad token changes nothing", "[e2e][admin]") {
    world w;
    auto bot = w.add_agent("bot", {"--per-request", "0.10", "--daily", "5"});
    w.set_env("PURSER_ADMIN_TOKEN", admin_token);  // the variable, not a file, this time
    w.start_proxy();
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";

    // The probes are open.
    CHECK(admin_call(w, "GET", "/healthz", "").status == 200);
    auto ready = admin_call(w, "GET", "/readyz", "");
    INFO(ready.raw);
    CHECK(ready.status == 200);
    CHECK(nlohmann::json::parse(ready.body)["ready"] == true);

    // No token, a wrong one, another scheme: 401, and the agent still pays.
    for (const std::string& auth : std::vector<std::string>{"", "Bearer nope", "Bearer " + admin_token + "x",
                                                              "Basic " + admin_token}) {
        INFO(auth);
        auto denied = admin_call(w, "POST", "/agents/bot/freeze", auth);
        CHECK(denied.status == 401);
        CHECK(denied.header("www-authenticate"));
        CHECK(admin_call(w, "GET", "/agents/bot", auth).status == 401);
        CHECK(admin_call(w, "GET", "/metrics", auth).status == 401);
    }
    auto shown = w.purser({"agent", "show", "bot"});
    CHECK(shown.out.find("FROZEN") == std::string::npos);
    CHECK(w.via_proxy("bot", bot, {url}).status == 200);

    auto frozen = admin_call(w, "POST", "/agents/bot/freeze");
    INFO(frozen.raw);
    REQUIRE(frozen.status == 200);
    CHECK(nlohmann::json::parse(frozen.body)["frozen"] == true);
    auto declined = w.via_proxy("bot", bot, {url});
    CHECK(declined.status == 402);
    REQUIRE(declined.header("purser-decision"));
    CHECK(declined.header("purser-decision")->rfind("declined; reason=agent_frozen", 0) == 0);

    auto agent = nlohmann::json::parse(admin_call(w, "GET", "/agents/bot").body);
    CHECK(agent["frozen"] == true);
    auto rows = nlohmann::json::parse(admin_call(w, "GET", "/ledger?agent=bot&status=declined").body);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["reason"] == "agent_frozen");

    REQUIRE(admin_call(w, "POST", "/agents/bot/unfreeze").status == 200);
    CHECK(w.via_proxy("bot", bot, {url}).status == 200);
}
