// The hostile merchant (issue 10), paid directly with the wallet library, no proxy: each lie
// happens exactly as its route says, and the chain shows what really moved.
#include "purser/testnet/merchant.hpp"

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/networks.hpp"
#include "world_support.hpp"

using namespace purser;
using nlohmann::json;
using protocol::uint256;
using purser::test::balance;
using purser::test::call;
using purser::test::terms;

namespace {

const uint256 price{100'000};
const std::string usdc{protocol::testnet_usdc};
const std::string network{protocol::testnet_caip2};
const std::string poor{testnet::poor_account.address};

struct fixture {
    purser::test::temp_dir dir;
    std::unique_ptr<testnet::world> w = purser::test::start_world(dir.path());
    std::unique_ptr<wallet::local_signer> payer =
        purser::test::signer_for(testnet::payer_account.private_key);
    const std::string payer_addr{testnet::payer_account.address};
    const std::string payee_addr{testnet::payee_account.address};
    const uint256 payer0 = balance(*w, payer_addr);
    const uint256 payee0 = balance(*w, payee_addr);
    const uint256 poor0 = balance(*w, poor);
    const uint256 supply0 = *w->chain().total_supply();

    std::string url(const std::string& lie) const {
        return w->merchant_hostile_http_url() + "/lie/" + lie;
    }

    // The 402 of `u` and a signed payment for its genuine testnet USDC offer.
    std::pair<protocol::payment_required, wallet::exact_payment> sign(const std::string& u) {
        auto pr = terms(call("GET", u, *w));
        CHECK(pr.x402_version == 2);
        const protocol::payment_requirements* genuine = nullptr;
        for (const auto& o : pr.accepts) {
            if (o.scheme == "exact" && o.network == protocol::testnet_caip2 &&
                o.asset == protocol::testnet_usdc) {
                genuine = &o;
            }
        }
        REQUIRE(genuine != nullptr);
        CHECK(genuine->amount == price);
        CHECK(genuine->pay_to == payee_addr);
        auto p = wallet::sign_exact(*payer, pr, *genuine);
        REQUIRE(p);
        return {pr, *p};
    }

    testnet::http_reply pay(const std::string& u) {
        const auto p = sign(u).second;
        return call("GET", u, *w, {{p.header_name, p.header_value}});
    }

    // The payer lost exactly `n` prices to the payee, nobody else moved, no money was made.
    void moved(std::uint64_t n) {
        const uint256 amount = *price.mul(uint256{n});
        CHECK(*balance(*w, payer_addr).add(amount) == payer0);
        CHECK(balance(*w, payee_addr) == *payee0.add(amount));
        CHECK(balance(*w, poor) == poor0);
        CHECK(*w->chain().total_supply() == supply0);
    }
};

// The receipt as the merchant wrote it, without the protocol parser's opinions.
json raw_receipt(const testnet::http_reply& r) {
    const std::string h = r.header("payment-response");
    REQUIRE_FALSE(h.empty());
    auto text = protocol::base64_decode_header(h);
    REQUIRE(text);
    auto j = json::parse(*text, nullptr, false);
    REQUIRE(j.is_object());
    return j;
}

json raw_required(const testnet::http_reply& r) {
    REQUIRE(r.status == 402);
    auto text = protocol::base64_decode_header(r.header("payment-required"));
    REQUIRE(text);
    auto j = json::parse(*text, nullptr, false);
    REQUIRE(j.is_object());
    return j;
}

// A real, successful transfer of `amount` from the payer to the payee.
void real_transfer(testnet::world& w, const std::string& tx_hex) {
    auto tx = protocol::bytes32_from_hex(tx_hex);
    REQUIRE(tx);
    auto rc = w.chain().get_receipt(*tx);
    REQUIRE(rc);
    REQUIRE(rc->has_value());
    CHECK((*rc)->status);
}

}  // namespace

TEST_CASE("hostile under-report moves 100000 while the receipt says 1", "[testnet][hostile]") {
    fixture f;
    for (const std::string& base :
         {f.w->merchant_hostile_http_url(), f.w->merchant_hostile_https_url()}) {
        INFO(base);
        auto r = f.pay(base + "/lie/under-report");
        REQUIRE(r.status == 200);
        auto receipt = raw_receipt(r);
        CHECK(receipt["amount"] == "1");
        CHECK(receipt["success"] == true);
        CHECK(receipt["payer"] == f.payer_addr);
        CHECK(receipt["network"] == network);
        real_transfer(*f.w, receipt["transaction"]);
    }
    f.moved(2);
}

TEST_CASE("hostile settle-then-500 moves the money and answers 500 without a receipt",
          "[testnet][hostile]") {
    fixture f;
    auto [pr, p] = f.sign(f.url("settle-then-500"));
    CHECK(pr.accepts[0].max_timeout_seconds == 8);
    auto r = call("GET", f.url("settle-then-500"), *f.w, {{p.header_name, p.header_value}});
    CHECK(r.status == 500);
    CHECK(r.header("payment-response").empty());
    f.moved(1);
}

TEST_CASE("hostile settle-then-drop closes the connection with no bytes and the money moved",
          "[testnet][hostile]") {
    fixture f;
    for (const std::string& base :
         {f.w->merchant_hostile_http_url(), f.w->merchant_hostile_https_url()}) {
        INFO(base);
        const std::string u = base + "/lie/settle-then-drop";
        const auto p = f.sign(u).second;
        testnet::http_call_options o;
        o.headers = {{p.header_name, p.header_value}};
        o.ca_file = f.w->ca_file();
        o.timeout_seconds = 10;
        auto r = testnet::http_call("GET", u, o);
        REQUIRE_FALSE(r);
        // Beast reports end_of_stream only when the peer closed before a single byte of a
        // response; TLS without close_notify shows as a truncated stream.
        const bool tls = base.starts_with("https");
        CHECK(r.error().detail == (tls ? "read: stream truncated" : "read: end of stream"));
    }
    f.moved(2);
}

TEST_CASE(
    "hostile settle-then-stall moves the money then stalls and the server still stops promptly",
    "[testnet][hostile]") {
    fixture f;
    const std::string u = f.url("settle-then-stall");
    const auto p = f.sign(u).second;
    testnet::http_call_options o;
    o.headers = {{p.header_name, p.header_value}};
    // http_call's timeout does not bound a blocking read (Asio polls past SO_RCVTIMEO), so the
    // call runs aside and the test watches the chain instead.
    auto pending = std::async(std::launch::async, [&] { return testnet::http_call("GET", u, o); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (balance(*f.w, f.payer_addr) == f.payer0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    f.moved(1);
    CHECK(pending.wait_for(std::chrono::seconds(1)) ==
          std::future_status::timeout);  // paid, no answer
    // The merchant waits 30 s; stopping the world must interrupt it, not wait it out.
    const auto t1 = std::chrono::steady_clock::now();
    f.w->stop();
    CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(3));
    auto r = pending.get();
    CHECK_FALSE(r);  // dropped unanswered
}

TEST_CASE("hostile settle-then-stall answers 200 with a receipt after a short stall",
          "[testnet][hostile]") {
    purser::test::temp_dir dir;
    auto cfg = testnet::default_hostile_merchant_json();
    for (auto& route : cfg["routes"]) {
        if (route["path"] == "/lie/settle-then-stall") route["stallMs"] = 300;
    }
    {
        std::ofstream out(dir.path() / "merchant-hostile.json");
        out << cfg.dump();
    }
    auto w = purser::test::start_world(dir.path());
    auto payer = purser::test::signer_for(testnet::payer_account.private_key);
    const std::string u = w->merchant_hostile_http_url() + "/lie/settle-then-stall";
    auto pr = terms(call("GET", u, *w));
    auto p = wallet::sign_exact(*payer, pr, pr.accepts[0]);
    REQUIRE(p);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call("GET", u, *w, {{p->header_name, p->header_value}});
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(300));
    REQUIRE(r.status == 200);
    auto sr = protocol::decode_settle_response_header(r.header("payment-response"));
    REQUIRE(sr);
    CHECK(*sr->amount == price);
}

TEST_CASE("hostile crlf-receipt carries CR LF only inside the base64 receipt",
          "[testnet][hostile]") {
    fixture f;
    auto r = f.pay(f.url("crlf-receipt"));
    REQUIRE(r.status == 200);
    const std::string header = r.header("payment-response");
    CHECK(header.find_first_of("\r\n") == std::string::npos);
    CHECK(r.header("purser-paid").empty());  // the forged header stayed inside the JSON
    auto receipt = raw_receipt(r);
    CHECK(receipt["transaction"] ==
          "0xabc\r\nPurser-Paid: 0 USDC forged\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
          "6\r\n\r\nforged");
    CHECK(receipt["network"].get<std::string>().find("\r\n") != std::string::npos);
    CHECK(receipt["payer"].get<std::string>().find("\r\n") != std::string::npos);
    CHECK(receipt["payer"].get<std::string>().starts_with(f.payer_addr));
    f.moved(1);
}

TEST_CASE("hostile escape-receipt decodes to raw terminal escape bytes", "[testnet][hostile]") {
    fixture f;
    auto r = f.pay(f.url("escape-receipt"));
    REQUIRE(r.status == 200);
    auto text = protocol::base64_decode_header(r.header("payment-response"));
    REQUIRE(text);
    CHECK(text->find("\\u001b[2J\\u001b[31m") != std::string::npos);  // JSON-escaped on the wire
    CHECK(text->find('\x1b') == std::string::npos);
    auto receipt = raw_receipt(r);
    for (const char* field : {"transaction", "network", "errorReason"}) {
        INFO(field);
        const std::string v = receipt[field];
        CHECK(v.find("\x1b[2J\x1b[31m") != std::string::npos);
        CHECK(v.find('\x07') != std::string::npos);
    }
    std::string tx = receipt["transaction"];
    tx = tx.substr(tx.find("0x"), 66);
    real_transfer(*f.w, tx);
    f.moved(1);
}

TEST_CASE("hostile forged-headers sends forged Purser headers on the 402 and the 200",
          "[testnet][hostile]") {
    fixture f;
    auto check_forged = [](const testnet::http_reply& r) {
        CHECK(r.header("purser-paid") == "0 USDC forged");
        CHECK(r.header("purser-decision") == "declined; reason=forged");
        CHECK(r.header("purser-remaining") == "999 USD");
    };
    auto first = call("GET", f.url("forged-headers"), *f.w);
    CHECK(first.status == 402);
    check_forged(first);
    auto r = f.pay(f.url("forged-headers"));
    REQUIRE(r.status == 200);
    check_forged(r);
    auto sr = protocol::decode_settle_response_header(r.header("payment-response"));
    REQUIRE(sr);
    CHECK(sr->success);
    CHECK(sr->payer == f.payer_addr);
    CHECK(*sr->amount == price);
    real_transfer(*f.w, sr->transaction);
    f.moved(1);
}

TEST_CASE("hostile many-offers puts 29 unpayable offers before the genuine one",
          "[testnet][hostile]") {
    fixture f;
    const std::string u = f.url("many-offers");
    auto first = call("GET", u, *f.w);
    CHECK(first.header("payment-required").size() < protocol::max_header_bytes);
    auto raw = raw_required(first);
    REQUIRE(raw["accepts"].size() == 30);
    CHECK(raw["resource"]["description"].get<std::string>().size() == 5000);
    bool long_network = false;
    bool big_extra = false;
    for (std::size_t i = 0; i + 1 < 30; ++i) {
        const auto& o = raw["accepts"][i];
        const bool genuine =
            o["scheme"] == "exact" && o["network"] == network && o["asset"] == usdc;
        CHECK_FALSE(genuine);
        long_network |= o["network"].get<std::string>().size() == 1500;
        big_extra |= o["extra"].dump().size() > 4096;
    }
    CHECK(long_network);
    CHECK(big_extra);
    const auto& last = raw["accepts"][29];
    CHECK(last["asset"] == usdc);
    CHECK(last["amount"] == "100000");

    // Bait first: an offer on an unknown token is refused and moves nothing.
    auto pr = terms(first);
    REQUIRE(pr.accepts.size() == 30);
    auto bait = wallet::sign_exact(*f.payer, pr, pr.accepts[0]);
    REQUIRE(bait);
    auto refused = call("GET", u, *f.w, {{bait->header_name, bait->header_value}});
    CHECK(refused.status == 402);
    f.moved(0);

    auto r = f.pay(u);
    REQUIRE(r.status == 200);
    auto sr = protocol::decode_settle_response_header(r.header("payment-response"));
    REQUIRE(sr);
    CHECK(*sr->amount == price);
    CHECK(sr->payer == f.payer_addr);
    f.moved(1);
}

TEST_CASE("hostile second-402 takes the money and asks again for twice the price",
          "[testnet][hostile]") {
    fixture f;
    auto r = f.pay(f.url("second-402"));
    REQUIRE(r.status == 402);
    CHECK(r.header("payment-response").empty());
    auto again = terms(r);
    REQUIRE(again.accepts.size() == 1);
    CHECK(again.accepts[0].amount == uint256{200'000});
    f.moved(1);
}

TEST_CASE(
    "hostile payto-switch answers a paid retry with terms for another payTo and moves nothing",
    "[testnet][hostile]") {
    fixture f;
    const std::string u = f.url("payto-switch");
    auto r = f.pay(u);  // f.sign checked the first 402 pays the payee
    REQUIRE(r.status == 402);
    auto switched = terms(r);
    CHECK(switched.error == "No matching payment requirements");
    REQUIRE(switched.accepts.size() == 1);
    CHECK(switched.accepts[0].pay_to == "0x000000000000000000000000000000000000dEaD");
    CHECK(switched.accepts[0].amount == price);
    f.moved(0);
    // Paying the switched terms settles nothing either.
    auto p = wallet::sign_exact(*f.payer, switched, switched.accepts[0]);
    REQUIRE(p);
    auto again = call("GET", u, *f.w, {{p->header_name, p->header_value}});
    CHECK(again.status == 402);
    f.moved(0);
    CHECK(balance(*f.w, "0x000000000000000000000000000000000000dEaD") == uint256{0});
}

TEST_CASE("hostile overcharge-receipt claims 100 USDC from another payer while 0.10 moved",
          "[testnet][hostile]") {
    fixture f;
    auto r = f.pay(f.url("overcharge-receipt"));
    REQUIRE(r.status == 200);
    auto receipt = raw_receipt(r);
    CHECK(receipt["amount"] == "100000000");
    CHECK(receipt["payer"] == poor);
    CHECK(receipt["payer"] != f.payer_addr);
    real_transfer(*f.w, receipt["transaction"]);
    f.moved(1);
}

TEST_CASE("hostile merchant config parses its lies and refuses bad ones", "[testnet][hostile]") {
    auto j = testnet::default_hostile_merchant_json();
    j["payTo"] = std::string(testnet::payee_account.address);
    j["receiverAuthorizer"] = std::string(testnet::facilitator_account.address);
    j["facilitator"] = "http://127.0.0.1:1";
    auto c = testnet::merchant_config_from_json(j);
    REQUIRE(c);
    REQUIRE(c->routes.size() == 15);
    for (const auto& r : c->routes) {
        INFO(r.path);
        CHECK(r.path == "/lie/" + std::string(testnet::to_string(r.lie)));
        const bool iou = r.path.rfind("/lie/iou-", 0) == 0;
        CHECK(*r.price == (iou ? purser::protocol::uint256(1000) : price));
        CHECK(r.schemes == std::vector<std::string>{iou ? "batch-settlement" : "exact"});
    }
    CHECK(c->routes[1].max_timeout_seconds == 8u);
    CHECK(c->routes[3].stall_ms == 30'000u);

    auto bad = j;
    bad["routes"][0]["lie"] = "tell-the-truth";
    CHECK_FALSE(testnet::merchant_config_from_json(bad));
    bad = j;
    bad["x402Version"] = 1;
    CHECK_FALSE(testnet::merchant_config_from_json(bad));
    bad = j;
    bad["routes"][0]["schemes"] = {"batch-settlement"};  // an exact lie on the IOU flow
    CHECK_FALSE(testnet::merchant_config_from_json(bad));
    bad = j;
    bad["routes"][0]["maxTimeoutSeconds"] = 0;
    CHECK_FALSE(testnet::merchant_config_from_json(bad));
    CHECK(testnet::merchant_lie_from_string("none") == testnet::merchant_lie::none);
    CHECK_FALSE(testnet::merchant_lie_from_string("under_report"));
}

TEST_CASE("hostile merchant URLs are in testnet.env and the normal merchant is unchanged",
          "[testnet][hostile]") {
    fixture f;
    std::ifstream in(f.w->env_file());
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str().find("export PURSER_TESTNET_HOSTILE_HTTP='" +
                          f.w->merchant_hostile_http_url() + "'\n") != std::string::npos);
    CHECK(text.str().find("export PURSER_TESTNET_HOSTILE_HTTPS='" +
                          f.w->merchant_hostile_https_url() + "'\n") != std::string::npos);
    CHECK(call("GET", f.w->merchant_http_url() + "/lie/under-report", *f.w).status == 404);
    CHECK(call("GET", f.w->merchant_hostile_http_url() + "/weather", *f.w).status == 404);
}
