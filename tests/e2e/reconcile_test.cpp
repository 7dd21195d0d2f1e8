// `purser ledger reconcile` against the real testnet chain. The test plays a proxy that sent a
// payment and then lost the answer (timeout or crash), so the ledger could not know it settled:
// one row is in_doubt, one was already given back as expired. Both really settled, so the
// chain's authorizationState must make them paid and count them; a payment that never reached a
// merchant must stay in doubt; a dry run and a bad RPC must change nothing.
#include <fstream>

#include <catch2/catch.hpp>

#include "purser/protocol/messages.hpp"
#include "purser/store/store.hpp"
#include "world.hpp"

using namespace purser;
using namespace purser::test;

namespace {

/// The authorization inside a signed PAYMENT-SIGNATURE value, as the proxy would reserve it.
store::reserve_request reservation_for(const std::string& payment_header, const std::string& url) {
    auto payload = protocol::decode_payment_header(payment_header);
    REQUIRE(payload);
    const auto& auth = payload->payload.at("authorization");
    store::reserve_request q;
    q.agent = "bot";
    q.method = "GET";
    q.url = url;
    q.host = "127.0.0.1";
    q.x402_version = 2;
    q.scheme = "exact";
    q.network = payload->network;
    q.asset = payload->accepted.at("asset").get<std::string>();
    q.asset_symbol = "USDC";
    q.asset_decimals = 6;
    q.usd_pegged = true;
    q.amount_atomic = *protocol::uint256::from_decimal(auth.at("value").get<std::string>());
    q.pay_to = auth.at("to").get<std::string>();
    q.nonce = auth.at("nonce").get<std::string>();
    q.expires_at = std::stoull(auth.at("validBefore").get<std::string>());
    return q;
}

/// Signs the merchant's current terms for `url` with the testnet payer (purser x402 sign).
std::string sign_terms(const world& w, const std::string& url) {
    auto unpaid = curl({"--noproxy", "*", url});
    REQUIRE(unpaid.status == 402);
    const auto terms = w.dir() / "terms.b64";
    std::ofstream(terms) << *unpaid.header("payment-required");
    auto signed_header = w.purser({"x402", "sign", "--keystore", w.env("PURSER_TESTNET_KEYSTORE"),
                                   "--requirements", terms.string()});
    REQUIRE(signed_header.exit_code == 0);
    auto value = signed_header.out;
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    return value;
}

std::unique_ptr<store::store> open_store(const world& w) {
    auto s = store::store::open(w.dir() / "home" / "store");
    REQUIRE(s);
    return std::move(*s);
}

/// Reserves `q` as the proxy would and marks it in doubt; returns the ledger id.
std::uint64_t reserve_in_doubt(const world& w, const store::reserve_request& q) {
    auto s = open_store(w);
    auto d = s->reserve(q);
    REQUIRE(d);
    REQUIRE(d->approved);
    REQUIRE(s->mark_in_doubt(d->reservation_id, "test: the settlement answer was lost"));
    return d->reservation_id;
}

/// Reserves `q` with an expiry already past and expires it as if a proof had been given: the
/// money is back in the counters although the authorization (whose own validBefore is later) can
/// still settle. A ledger written by an older Purser, which expired rows by time alone, looks so.
std::uint64_t reserve_expired(const world& w, store::reserve_request q) {
    auto s = open_store(w);
    q.expires_at = s->now_ms() / 1000 - 1;
    auto d = s->reserve(q);
    REQUIRE(d);
    REQUIRE(d->approved);
    REQUIRE(s->mark_in_doubt(d->reservation_id, "test: lost"));
    REQUIRE(s->expire_unsettled(d->reservation_id, "test: expired by time", 0));
    REQUIRE(s->get_row(d->reservation_id)->state == store::status::expired);
    return d->reservation_id;
}

store::usd_micros spent_today(const world& w) { return open_store(w)->usage("bot")->spent_today; }

nlohmann::json row(const world& w, std::uint64_t id) {
    for (const auto& r : w.ledger("bot"))
        if (r.at("id").get<std::uint64_t>() == id) return r;
    FAIL("no ledger row " << id);
    return {};
}

}  // namespace

TEST_CASE("ledger reconcile makes payments settled on chain paid, and only those") {
    world w;
    w.add_agent("bot", {"--per-request", "1", "--daily", "5"});
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    const std::string rpc = w.env("PURSER_TESTNET_RPC");
    const std::string keystore = w.env("PURSER_TESTNET_KEYSTORE");

    // Signed, reserved and lost by the "proxy"; the merchant did settle each of these two.
    const auto doubtful_header = sign_terms(w, url);
    const auto doubtful = reservation_for(doubtful_header, url);
    const auto doubtful_id = reserve_in_doubt(w, doubtful);
    const auto expired_header = sign_terms(w, url);
    const auto expired_id = reserve_expired(w, reservation_for(expired_header, url));
    for (const auto& header : {doubtful_header, expired_header}) {
        auto paid_call = curl({"--noproxy", "*", "-H", "PAYMENT-SIGNATURE: " + header, url});
        REQUIRE(paid_call.status == 200);
    }
    // Signed and reserved, but no merchant ever saw it.
    const auto lost_id = reserve_in_doubt(w, reservation_for(sign_terms(w, url), url));

    // In doubt counts; expired does not. Each row is the same price.
    const auto price = open_store(w)->get_row(doubtful_id)->amount_usd;
    REQUIRE(price > 0);
    REQUIRE(spent_today(w) == 2 * price);

    SECTION("a dry run reports and changes nothing") {
        auto dry = w.purser({"ledger", "reconcile", "--rpc", rpc, "--keystore", keystore, "--dry-run"});
        INFO(dry.out << dry.err);
        REQUIRE(dry.exit_code == 0);
        CHECK(dry.out.find("#" + std::to_string(doubtful_id) + " bot") != std::string::npos);
        CHECK(dry.out.find("2 would become paid") != std::string::npos);
        CHECK(row(w, doubtful_id).at("status") == "in_doubt");
        CHECK(row(w, expired_id).at("status") == "expired");
        CHECK(spent_today(w) == 2 * price);
    }
    SECTION("an unreachable RPC fails and changes nothing") {
        auto bad = w.purser({"ledger", "reconcile", "--rpc", "http://127.0.0.1:1", "--keystore", keystore});
        CHECK(bad.exit_code != 0);
        CHECK(row(w, doubtful_id).at("status") == "in_doubt");
        CHECK(spent_today(w) == 2 * price);
    }
    SECTION("reconcile settles the two paid ones and leaves the lost one in doubt, once") {
        auto done = w.purser({"ledger", "reconcile", "--rpc", rpc, "--keystore", keystore});
        INFO(done.out << done.err);
        REQUIRE(done.exit_code == 0);
        CHECK(done.out.find("2 now paid") != std::string::npos);

        for (const auto id : {doubtful_id, expired_id}) {
            const auto paid = row(w, id);
            CHECK(paid.at("status") == "paid");
            CHECK(paid.at("charged") == paid.at("amount"));
            CHECK(paid.at("detail").get<std::string>().find("authorizationState") != std::string::npos);
        }
        CHECK(row(w, lost_id).at("status") == "in_doubt");
        // The expired row's money moved after all: it is counted again.
        CHECK(spent_today(w) == 3 * price);

        auto again = w.purser({"ledger", "reconcile", "--rpc", rpc, "--keystore", keystore});
        REQUIRE(again.exit_code == 0);
        CHECK(again.out.find("0 now paid") != std::string::npos);
        CHECK(spent_today(w) == 3 * price);
    }
}
