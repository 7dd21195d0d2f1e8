// The payment flow scripted event by event, against a real LMDB store and a real secp256k1
// signer: what each 402 leads to, what the ledger says afterwards, and what was signed.
#include "purser/proxy/payment_flow.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <set>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/store/store.hpp"
#include "purser/wallet/exact.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"
#include "admin/prom_text.hpp"
#include "test_support.hpp"

using namespace purser;
using nlohmann::json;
using proxy::payment_plan;

namespace {

// Hardhat test key #0: public, documented, obviously fake.
constexpr const char* payer_key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr const char* merchant = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
constexpr std::uint64_t fixed_now = 1'740'672'000;

// A signer that, at the moment it is asked to sign, looks in the store for the reservation of
// the nonce it is about to sign. It proves invariant 1 from the outside: reserve before sign.
class witnessing_signer final : public wallet::signer {
public:
    witnessing_signer(std::shared_ptr<store::store> s, wallet::private_key&& k)
        : store_(std::move(s)), inner_(std::move(k)) {}
    protocol::address address() const override { return inner_.address(); }
    result<wallet::signature> sign_digest(const protocol::bytes32& digest) override {
        ++signatures;
        auto rows = store_->list_ledger({});
        reserved_when_signing = rows && !rows->empty() &&
                                rows->back().state == store::status::reserved;
        return inner_.sign_digest(digest);
    }
    std::atomic<int> signatures{0};
    bool reserved_when_signing = false;

private:
    std::shared_ptr<store::store> store_;
    wallet::local_signer inner_;
};

json offer_v2(const std::string& amount, std::uint64_t timeout = 60) {
    return json{{"scheme", "exact"},
                {"network", std::string(protocol::testnet_caip2)},
                {"amount", amount},
                {"asset", std::string(protocol::testnet_usdc)},
                {"payTo", merchant},
                {"maxTimeoutSeconds", timeout},
                {"extra", {{"name", "USDC"}, {"version", "2"}}}};
}

proxy::upstream_response challenge_v2(const json& accepts) {
    json pr = {{"x402Version", 2},
               {"error", "Payment required"},
               {"resource", {{"url", "http://127.0.0.1:9/weather"}, {"description", "Weather"}}},
               {"accepts", accepts}};
    proxy::upstream_response r;
    r.status = 402;
    r.headers = {{"Content-Type", "application/json"},
                 {"PAYMENT-REQUIRED", protocol::base64_encode(std::string_view(pr.dump()))}};
    r.body = "{}";
    return r;
}

proxy::upstream_response challenge_v1(const std::string& amount) {
    json body = {{"x402Version", 1},
                 {"error", "X-PAYMENT header is required"},
                 {"accepts",
                  {{{"scheme", "exact"},
                    {"network", std::string(protocol::testnet_v1_name)},
                    {"maxAmountRequired", amount},
                    {"resource", "http://127.0.0.1:9/weather"},
                    {"description", "Weather"},
                    {"mimeType", "application/json"},
                    {"payTo", merchant},
                    {"maxTimeoutSeconds", 60},
                    {"asset", std::string(protocol::testnet_usdc)},
                    {"extra", {{"name", "USDC"}, {"version", "2"}}}}}}};
    proxy::upstream_response r;
    r.status = 402;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = body.dump();
    return r;
}

proxy::request_info request_for(const std::string& agent) {
    proxy::request_info r;
    r.agent = agent;
    r.method = "GET";
    r.url = "http://127.0.0.1:9/weather";
    r.host = "127.0.0.1";
    r.port = 9;
    return r;
}

proxy::header_list receipt(bool success, const std::string& tx, const char* name = "PAYMENT-RESPONSE") {
    protocol::settle_response s;
    s.success = success;
    s.transaction = tx;
    s.network = std::string(protocol::testnet_caip2);
    s.error_reason = success ? "" : "unexpected_settle_error";
    return {{name, protocol::encode_settle_response_header(s)}};
}

std::optional<std::string> header(const proxy::header_list& h, const std::string& name) {
    for (const auto& [k, v] : h) {
        if (k == name) return v;
    }
    return std::nullopt;
}

// A transaction hash as the chain writes one.
const std::string tx_a = "0x" + std::string(64, 'a');
const std::string tx_b = "0x" + std::string(64, 'b');

/// The chain as the flow's prover sees it, scripted: which nonces were used, and how often it
/// was asked.
class scripted_chain final : public proxy::authorization_oracle {
public:
    bool covers(const std::string& network) const override {
        return network == protocol::testnet_caip2;
    }
    result<bool> authorization_used(const std::string&, const protocol::address&,
                                    const protocol::address& payer,
                                    const protocol::bytes32& nonce) override {
        ++asked;
        last_payer = payer.to_checksum();
        if (down) return purser::fail(protocol::errc::invalid_value, "rpc down");
        return used.contains(protocol::to_hex(nonce));
    }
    std::set<std::string> used;
    bool down = false;
    int asked = 0;
    std::string last_payer;
};

struct fixture {
    test::temp_dir dir;
    std::shared_ptr<store::store> ledger;
    std::shared_ptr<witnessing_signer> signer;
    std::shared_ptr<proxy::payment_flow> flow;
    /// One clock (unix seconds) for the store and the flow; tests move it.
    std::shared_ptr<std::atomic<std::uint64_t>> now_s =
        std::make_shared<std::atomic<std::uint64_t>>(fixed_now);

    explicit fixture(bool with_signer = true, proxy::payment_flow_options options = {},
                     bool testnet = true) {
        // The store and the flow share one clock, so authorizations signed "now" are not yet
        // expired when the store next looks.
        store::open_options store_options;
        store_options.clock = [c = now_s] { return c->load() * 1000; };
        auto opened = store::store::open(dir.path() / "store", store_options);
        REQUIRE(opened);
        ledger = std::shared_ptr<store::store>(std::move(*opened));
        if (with_signer) {
            signer = std::make_shared<witnessing_signer>(ledger, *wallet::private_key::from_hex(payer_key));
        }
        options.now_seconds = [c = now_s] { return c->load(); };
        options.testnet = testnet;
        options.proof_interval_ms = 0;  // the tests call prove_expired themselves
        flow = std::make_shared<proxy::payment_flow>(
            ledger, signer,
            std::make_shared<const protocol::network_registry>(protocol::network_registry::builtin()),
            options);
    }

    void add_agent(const std::string& name, store::policy p = {},
                   std::optional<store::usd_micros> allowance = {}) {
        REQUIRE(ledger->add_agent(name, p, allowance));
    }

    std::vector<store::ledger_row> rows() {
        auto r = ledger->list_ledger({});
        REQUIRE(r);
        return *r;
    }
};

}  // namespace

TEST_CASE("v2: a payable 402 is reserved, signed, replayed and committed", "[payment]") {
    fixture f;
    f.add_agent("alice", {}, 5'000'000);
    auto plan = f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({offer_v2("1000")})));
    REQUIRE(plan.what == payment_plan::action::pay);
    REQUIRE(plan.add_request_headers.size() == 1);
    CHECK(plan.add_request_headers[0].first == "PAYMENT-SIGNATURE");
    CHECK(f.signer->signatures == 1);
    CHECK(f.signer->reserved_when_signing);

    // What was signed is a valid exact payment by the wallet for exactly the offer.
    auto payload = protocol::decode_payment_header(plan.add_request_headers[0].second);
    REQUIRE(payload);
    auto registry = protocol::network_registry::builtin();
    auto check = wallet::check_exact_payload(*payload, nullptr, registry);
    REQUIRE(check);
    CHECK(check->signer_matches);
    CHECK(check->authorization.value.to_decimal() == "1000");
    CHECK(check->authorization.valid_before.to_decimal() == std::to_string(fixed_now + 60));
    CHECK(payload->accepted == protocol::ojson::parse(offer_v2("1000").dump()));

    auto rows = f.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].state == store::status::reserved);
    CHECK(rows[0].nonce == protocol::to_hex(check->authorization.nonce));
    CHECK(rows[0].expires_at == fixed_now + 60);
    CHECK(f.flow->in_progress() == 1);

    auto outcome = f.flow->on_paid_response(plan, request_for("alice"), 200, receipt(true, tx_a));
    CHECK(header(outcome.add_response_headers, "Purser-Paid") == "0.001 USDC eip155:31337 " + tx_a);
    CHECK(header(outcome.add_response_headers, "Purser-Remaining") == "4.999 USD");
    rows = f.rows();
    CHECK(rows[0].state == store::status::paid);
    CHECK(rows[0].tx_hash == tx_a);
    CHECK(rows[0].payer == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    CHECK(rows[0].detail.empty());
    CHECK(rows[0].merchant_status == 200);
    CHECK(f.flow->in_progress() == 0);
    CHECK(f.ledger->check_counters().value() == "");
}

TEST_CASE("v1: the 402 body's terms are paid with X-PAYMENT", "[payment]") {
    fixture f;
    f.add_agent("bob");
    auto plan = f.flow->on_payment_required(request_for("bob"), challenge_v1("2500"));
    REQUIRE(plan.what == payment_plan::action::pay);
    CHECK(plan.add_request_headers[0].first == "X-PAYMENT");
    auto payload = protocol::decode_payment_header(plan.add_request_headers[0].second);
    REQUIRE(payload);
    CHECK(payload->x402_version == 1);
    CHECK(payload->network == protocol::testnet_v1_name);
    f.flow->on_paid_response(plan, request_for("bob"), 200, receipt(true, tx_b, "X-PAYMENT-RESPONSE"));
    CHECK(f.rows()[0].state == store::status::paid);
}

TEST_CASE("a 402 that is not x402 passes through and records nothing", "[payment]") {
    fixture f;
    f.add_agent("alice");
    proxy::upstream_response paywall;
    paywall.status = 402;
    paywall.headers = {{"Content-Type", "text/html"}};
    paywall.body = "<html>please subscribe</html>";
    auto plan = f.flow->on_payment_required(request_for("alice"), paywall);
    CHECK(plan.what == payment_plan::action::pass_through);
    CHECK(plan.add_response_headers.empty());
    CHECK(f.rows().empty());
    CHECK(f.signer->signatures == 0);
}

TEST_CASE("malformed x402 terms are declined with a reason and nothing signed", "[payment]") {
    fixture f;
    f.add_agent("alice");
    std::vector<proxy::upstream_response> bad;
    auto r = challenge_v2(json::array({offer_v2("1000")}));
    r.headers[1].second = "not base64!";
    bad.push_back(r);
    bad.push_back(challenge_v2(json::array({offer_v2("-5")})));
    bad.push_back(challenge_v2(json::array({offer_v2("1.5")})));
    bad.push_back(challenge_v2(json::array({offer_v2(std::string(90, '9'))})));
    bad.push_back(challenge_v2(json::array()));
    auto v1 = challenge_v1("10");
    v1.body = R"({"x402Version":1,"accepts":[{"scheme":"exact"}]})";
    bad.push_back(v1);
    for (const auto& challenge : bad) {
        auto plan = f.flow->on_payment_required(request_for("alice"), challenge);
        CHECK(plan.what == payment_plan::action::decline);
        CHECK(plan.add_request_headers.empty());
        auto decision = header(plan.add_response_headers, "Purser-Decision");
        REQUIRE(decision);
        CHECK(decision->rfind("declined; reason=no_supported_offer", 0) == 0);
    }
    CHECK(f.signer->signatures == 0);
    auto rows = f.rows();
    std::size_t declines = 0;  // identical declines fold into rows with a count
    for (const auto& row : rows) declines += row.repeats;
    REQUIRE(declines == bad.size());
    for (const auto& row : rows) {
        CHECK(row.state == store::status::declined);
        CHECK(row.why == store::reason::no_supported_offer);
        CHECK_FALSE(row.detail.empty());
    }
    CHECK(f.ledger->usage("alice")->spent_lifetime == 0);
}

TEST_CASE("policy declines carry the store's reason and sign nothing", "[payment]") {
    fixture f;
    store::policy p;
    p.per_request = 500;  // $0.0005
    f.add_agent("capped", p);
    auto plan = f.flow->on_payment_required(request_for("capped"), challenge_v2(json::array({offer_v2("1000")})));
    CHECK(plan.what == payment_plan::action::decline);
    CHECK(header(plan.add_response_headers, "Purser-Decision").value().rfind(
              "declined; reason=per_request_limit_exceeded", 0) == 0);
    CHECK(f.signer->signatures == 0);

    auto unknown = f.flow->on_payment_required(request_for("nobody"), challenge_v2(json::array({offer_v2("1")})));
    CHECK(header(unknown.add_response_headers, "Purser-Decision").value().rfind(
              "declined; reason=agent_unknown", 0) == 0);
    REQUIRE(f.ledger->set_frozen("capped", true));
    auto frozen = f.flow->on_payment_required(request_for("capped"), challenge_v2(json::array({offer_v2("1")})));
    CHECK(header(frozen.add_response_headers, "Purser-Decision").value().rfind(
              "declined; reason=agent_frozen", 0) == 0);
    CHECK(f.signer->signatures == 0);
    CHECK(f.rows().size() == 3);
}

TEST_CASE("the cheapest payable offer is the one reserved and signed", "[payment]") {
    fixture f;
    f.add_agent("alice");
    json upto = offer_v2("1");
    upto["scheme"] = "upto";
    auto plan = f.flow->on_payment_required(
        request_for("alice"), challenge_v2(json::array({offer_v2("3000"), upto, offer_v2("2000")})));
    REQUIRE(plan.what == payment_plan::action::pay);
    auto payload = protocol::decode_payment_header(plan.add_request_headers[0].second);
    CHECK(payload->accepted["amount"] == "2000");
    CHECK(f.rows()[0].amount_atomic.to_decimal() == "2000");
}

TEST_CASE("offers the wallet cannot pay are declined no_supported_offer", "[payment]") {
    fixture f;
    f.add_agent("alice");
    json upto = offer_v2("1");
    upto["scheme"] = "upto";
    json solana = offer_v2("1");
    solana["network"] = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
    auto plan = f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({upto, solana})));
    CHECK(plan.what == payment_plan::action::decline);
    auto rows = f.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].why == store::reason::no_supported_offer);
    CHECK(rows[0].detail.find("accepts[0]") != std::string::npos);
    CHECK(f.signer->signatures == 0);
}

TEST_CASE("a body too large to replay is declined before anything is reserved", "[payment]") {
    fixture f;
    f.add_agent("alice");
    auto req = request_for("alice");
    req.body_replayable = false;
    req.body_size = 9 << 20;
    auto plan = f.flow->on_payment_required(req, challenge_v2(json::array({offer_v2("1000")})));
    CHECK(plan.what == payment_plan::action::decline);
    CHECK(f.rows().at(0).why == store::reason::body_too_large_to_replay);
    CHECK(f.signer->signatures == 0);
}

TEST_CASE("without a wallet key every x402 402 is declined wallet_locked", "[payment]") {
    fixture f(false);
    f.add_agent("alice");
    auto plan = f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({offer_v2("1000")})));
    CHECK(plan.what == payment_plan::action::decline);
    CHECK(f.rows().at(0).why == store::reason::wallet_locked);
}

TEST_CASE("a merchant's maxTimeoutSeconds cannot stretch the authorization past the window", "[payment]") {
    proxy::payment_flow_options options;
    options.max_window_seconds = 120;
    fixture f(true, options);
    f.add_agent("alice");
    auto plan = f.flow->on_payment_required(request_for("alice"),
                                            challenge_v2(json::array({offer_v2("1000", 86400)})));
    REQUIRE(plan.what == payment_plan::action::pay);
    auto payload = protocol::decode_payment_header(plan.add_request_headers[0].second);
    CHECK(payload->payload["authorization"]["validBefore"] == std::to_string(fixed_now + 120));
    CHECK(f.rows()[0].expires_at == fixed_now + 120);
}

TEST_CASE("the paid retry's answer decides failed, in doubt or released", "[payment]") {
    fixture f;
    f.add_agent("alice");
    auto pay = [&] {
        auto plan = f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({offer_v2("1000")})));
        REQUIRE(plan.what == payment_plan::action::pay);
        return plan;
    };

    // Refused with a new PAYMENT-REQUIRED naming the reason: failed, still counted.
    auto refused = pay();
    auto again = challenge_v2(json::array({offer_v2("1000")}));
    json pr = json::parse(*protocol::base64_decode(again.headers[1].second));
    pr["error"] = "invalid_exact_evm_signature";
    auto out = f.flow->on_paid_response(refused, request_for("alice"), 402,
                                        {{"PAYMENT-REQUIRED", protocol::base64_encode(std::string_view(pr.dump()))}});
    CHECK(header(out.add_response_headers, "Purser-Decision").value().rfind("failed;", 0) == 0);

    // Settlement failed after the handler ran: the money may have moved.
    auto settle_failed = pay();
    f.flow->on_paid_response(settle_failed, request_for("alice"), 402, receipt(false, ""));

    // 200 without a receipt: no proof either way.
    auto no_receipt = pay();
    f.flow->on_paid_response(no_receipt, request_for("alice"), 200, {});

    // The retry timed out after it was sent; and one that was never sent.
    // Delivery is a fact the server tracked, not a guess from the text: a failure whose text
    // claims "not sent" after writing began stays in doubt, and a connect failure is released
    // whatever its text says.
    auto timed_out = pay();
    auto t = f.flow->on_paid_failure(timed_out, request_for("alice"),
                                     proxy::delivery::maybe_delivered, "not sent: timeout");
    CHECK(header(t.add_response_headers, "Purser-Decision").value().rfind("in_doubt; ledger=", 0) == 0);
    auto never_sent = pay();
    auto n = f.flow->on_paid_failure(never_sent, request_for("alice"), proxy::delivery::not_sent,
                                     "cannot connect to 127.0.0.1:9: Connection refused");
    CHECK(header(n.add_response_headers, "Purser-Decision").value().rfind("released;", 0) == 0);

    auto rows = f.rows();
    REQUIRE(rows.size() == 5);
    CHECK(rows[0].state == store::status::failed);
    CHECK(rows[0].detail.find("invalid_exact_evm_signature") != std::string::npos);
    CHECK(rows[1].state == store::status::in_doubt);
    CHECK(rows[2].state == store::status::in_doubt);
    CHECK(rows[3].state == store::status::in_doubt);
    CHECK(rows[4].state == store::status::released);
    // Signed is spent until proven otherwise: four of five still count; the released one not.
    CHECK(f.ledger->usage("alice")->in_flight == 4 * 1000);
    CHECK(f.ledger->check_counters().value() == "");
    CHECK(f.flow->in_progress() == 0);
}

TEST_CASE("store credentials authenticate the proxy's agents", "[payment]") {
    fixture f;
    auto creds = f.ledger->add_agent("carol", {});
    REQUIRE(creds);
    proxy::store_authenticator auth(f.ledger);
    CHECK(auth.authenticate("carol", creds->token).agent == "carol");
    CHECK_FALSE(auth.authenticate("carol", "wrong").agent);
    CHECK(auth.authenticate("carol", "wrong").unavailable.empty());
    CHECK_FALSE(auth.authenticate("nobody", creds->token).agent);
    CHECK(auth.authenticate("nobody", creds->token).unavailable.empty());
}

// ---- the merchant is a stranger (issue 10) -------------------------------------------------

namespace {

proxy::header_list receipt_with(const std::function<void(protocol::settle_response&)>& lie) {
    protocol::settle_response s;
    s.success = true;
    s.transaction = tx_a;
    s.network = std::string(protocol::testnet_caip2);
    lie(s);
    return {{"PAYMENT-RESPONSE", protocol::encode_settle_response_header(s)}};
}

payment_plan pay_offer(fixture& f, const std::string& agent, const json& accepts) {
    auto plan = f.flow->on_payment_required(request_for(agent), challenge_v2(accepts));
    REQUIRE(plan.what == payment_plan::action::pay);
    return plan;
}

}  // namespace

TEST_CASE("a receipt that under-reports its amount does not lower what is counted", "[payment][hostile]") {
    fixture f;
    store::policy p;
    p.daily = 250'000;  // $0.25
    f.add_agent("alice", p);
    for (int i = 0; i < 2; ++i) {
        auto plan = pay_offer(f, "alice", json::array({offer_v2("100000")}));
        auto out = f.flow->on_paid_response(plan, request_for("alice"), 200,
                                            receipt_with([](auto& r) { r.amount = protocol::uint256(1); }));
        CHECK(header(out.add_response_headers, "Purser-Paid") == "0.1 USDC eip155:31337 " + tx_a);
    }
    auto rows = f.rows();
    REQUIRE(rows.size() == 2);
    for (const auto& r : rows) {
        CHECK(r.state == store::status::paid);
        CHECK(r.charged_atomic->to_decimal() == "100000");
        CHECK(r.detail.find("receipt amount 1 but") != std::string::npos);
    }
    CHECK(f.ledger->usage("alice")->spent_today == 200'000);
    // The third would pass the $0.25 cap: declined, nothing signed.
    auto third = f.flow->on_payment_required(request_for("alice"),
                                             challenge_v2(json::array({offer_v2("100000")})));
    CHECK(third.what == payment_plan::action::decline);
    CHECK(f.signer->signatures == 2);
}

TEST_CASE("receipt fields with CR LF or escape codes never reach a header or the tx column", "[payment][hostile]") {
    fixture f;
    f.add_agent("alice");
    auto plan = pay_offer(f, "alice", json::array({offer_v2("1000")}));
    auto out = f.flow->on_paid_response(plan, request_for("alice"), 200, receipt_with([](auto& r) {
        r.transaction = "0xabc\r\nPurser-Paid: 0 USDC forged\r\n\r\nHTTP/1.1 200 OK\r\n\r\nforged";
        r.network = "eip155:31337\r\nX-Evil: 1";
        r.payer = "\x1b[2J0xdeadbeef";
        r.amount = protocol::uint256(100000000);
    }));
    for (const auto& [name, value] : out.add_response_headers) {
        CHECK(value.find_first_of("\r\n\x1b") == std::string::npos);
    }
    CHECK(header(out.add_response_headers, "Purser-Paid") == "0.001 USDC eip155:31337 unverified");
    auto row = f.rows().at(0);
    CHECK(row.state == store::status::paid);
    CHECK(row.tx_hash.empty());
    CHECK(row.charged_atomic->to_decimal() == "1000");  // not the 100000000 the receipt claims
    CHECK(row.detail.find("not a 32-byte hash") != std::string::npos);
    CHECK(row.detail.find("is not the signer") != std::string::npos);
}

TEST_CASE("settled then 500: the row stays counted past expiry until the chain answers", "[payment][hostile]") {
    auto chain = std::make_shared<scripted_chain>();
    proxy::payment_flow_options options;
    options.oracle = chain;
    options.skew_margin_seconds = 30;
    fixture f(true, options);
    store::policy p;
    p.daily = 250'000;
    f.add_agent("alice", p);

    std::vector<std::string> nonces;
    for (int i = 0; i < 2; ++i) {
        auto plan = pay_offer(f, "alice", json::array({offer_v2("100000", 8)}));
        nonces.push_back(f.rows().back().nonce);
        auto out = f.flow->on_paid_response(plan, request_for("alice"), 500, {});
        CHECK(header(out.add_response_headers, "Purser-Decision").value().rfind("in_doubt;", 0) == 0);
    }
    // The first really settled on chain; the second never did.
    chain->used.insert(nonces[0]);

    // Past validBefore (8 s) but inside the skew margin: nobody is asked, everything counts.
    f.now_s->store(fixed_now + 20);
    CHECK(f.flow->prove_expired() == 0);
    CHECK(chain->asked == 0);
    CHECK(f.ledger->usage("alice")->spent_today == 200'000);
    CHECK(f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({offer_v2("100000")})))
              .what == payment_plan::action::decline);

    // The RPC is down: still counted, nothing changes.
    f.now_s->store(fixed_now + 60);
    chain->down = true;
    CHECK(f.flow->prove_expired() == 0);
    CHECK(f.ledger->usage("alice")->spent_today == 200'000);

    // The chain answers: the settled one is paid, the other released.
    chain->down = false;
    CHECK(f.flow->prove_expired() == 2);
    CHECK(chain->last_payer == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    auto rows = f.rows();
    CHECK(rows[0].state == store::status::paid);
    CHECK(rows[0].detail.find("authorizationState(payer, nonce) is true") != std::string::npos);
    CHECK(rows[1].state == store::status::expired);
    CHECK(f.ledger->usage("alice")->spent_today == 100'000);
    CHECK(f.ledger->check_counters().value() == "");
}

TEST_CASE("without a chain to ask an expired payment stays counted", "[payment][hostile]") {
    fixture f;  // no oracle
    f.add_agent("alice");
    auto plan = pay_offer(f, "alice", json::array({offer_v2("100000", 8)}));
    f.flow->on_paid_response(plan, request_for("alice"), 500, {});
    f.now_s->store(fixed_now + 86'400);
    CHECK(f.flow->prove_expired() == 0);
    CHECK(f.rows().at(0).state == store::status::in_doubt);
    CHECK(f.ledger->usage("alice")->in_flight == 100'000);
}

TEST_CASE("a 402 with 30 offers and oversized fields still leaves a row and pays the real one", "[payment][hostile]") {
    fixture f;
    f.add_agent("alice");
    json junk = json::array();
    for (int i = 0; i < 28; ++i) {
        json o = offer_v2("1");
        o["asset"] = "0x" + std::string(39, '0') + std::to_string(i % 10);
        o["extra"]["junk"] = std::string(300, 'x');
        junk.push_back(o);
    }
    json long_network = offer_v2("1");
    long_network["network"] = "eip155:" + std::string(1500, '9');
    junk.push_back(long_network);

    // Nothing payable: declined, and the row exists although its detail is far over 1 KiB.
    auto declined = f.flow->on_payment_required(request_for("alice"), challenge_v2(junk));
    CHECK(declined.what == payment_plan::action::decline);
    REQUIRE(f.rows().size() == 1);
    CHECK(f.rows()[0].why == store::reason::no_supported_offer);
    CHECK(f.rows()[0].detail.size() <= store::max_row_field_bytes);
    INFO(f.rows()[0].detail);
    CHECK(f.rows()[0].detail.find("[cut ") != std::string::npos);

    // The genuine offer last: it is the one paid.
    junk.push_back(offer_v2("100000"));
    auto plan = pay_offer(f, "alice", junk);
    auto payload = protocol::decode_payment_header(plan.add_request_headers[0].second);
    CHECK(payload->accepted["asset"] == std::string(protocol::testnet_usdc));
    CHECK(f.rows().back().amount_atomic.to_decimal() == "100000");
}

TEST_CASE("an unknown token first does not stop the known USDC offer from being paid", "[payment][hostile]") {
    fixture f;
    f.add_agent("alice");
    json unknown = offer_v2("5");
    unknown["asset"] = "0x1111111111111111111111111111111111111111";
    json permit2 = offer_v2("1");
    permit2["extra"]["assetTransferMethod"] = "permit2";
    auto plan = pay_offer(f, "alice", json::array({unknown, permit2, offer_v2("1000")}));
    auto payload = protocol::decode_payment_header(plan.add_request_headers[0].second);
    CHECK(payload->accepted["amount"] == "1000");

    // Only permit2 on offer: no_supported_offer naming the method, not wallet_locked.
    auto only = f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({permit2})));
    CHECK(header(only.add_response_headers, "Purser-Decision").value().rfind(
              "declined; reason=no_supported_offer", 0) == 0);
    CHECK(f.rows().back().detail.find("permit2 not supported") != std::string::npos);
}

TEST_CASE("the local testnet is paid only when configured", "[payment][hostile]") {
    fixture f(true, {}, false);
    f.add_agent("alice");
    auto plan = f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({offer_v2("1000")})));
    CHECK(plan.what == payment_plan::action::decline);
    CHECK(f.rows().at(0).why == store::reason::no_supported_offer);
    CHECK(f.rows().at(0).detail.find("not allowed") != std::string::npos);
    CHECK(f.signer->signatures == 0);
}

TEST_CASE("query strings never reach the ledger", "[payment]") {
    fixture f;
    f.add_agent("alice");
    auto req = request_for("alice");
    req.url = "http://127.0.0.1:9/weather?api_key=sk-secret#frag";
    auto plan = f.flow->on_payment_required(req, challenge_v2(json::array({offer_v2("1000")})));
    REQUIRE(plan.what == payment_plan::action::pay);
    CHECK(f.rows().at(0).url == "http://127.0.0.1:9/weather");
}

TEST_CASE("an agent's network list treats a CAIP-2 id and its v1 name as one network", "[payment]") {
    fixture f;
    store::policy by_caip2;
    by_caip2.allow_networks = {std::string(protocol::testnet_caip2)};
    f.add_agent("caip2", by_caip2);
    store::policy by_name;
    by_name.allow_networks = {std::string(protocol::testnet_v1_name)};
    f.add_agent("v1name", by_name);
    store::policy elsewhere;
    elsewhere.allow_networks = {"eip155:8453"};
    f.add_agent("base", elsewhere);
    // A v1 offer names the network "purser-testnet"; a v2 offer "eip155:31337".
    CHECK(f.flow->on_payment_required(request_for("caip2"), challenge_v1("1000")).what ==
          payment_plan::action::pay);
    CHECK(f.flow->on_payment_required(request_for("v1name"),
                                      challenge_v2(json::array({offer_v2("1000")})))
              .what == payment_plan::action::pay);
    auto no = f.flow->on_payment_required(request_for("base"), challenge_v1("1000"));
    CHECK(header(no.add_response_headers, "Purser-Decision").value().rfind(
              "declined; reason=network_not_allowed", 0) == 0);
}

TEST_CASE("the flow's counters say what the ledger says with unsettled outcomes too", "[payment][metrics]") {
    proxy::payment_flow_options options;
    options.stats = std::make_shared<proxy::metrics>();
    fixture f(true, options);
    f.add_agent("alice");
    f.add_agent("ice");
    REQUIRE(f.ledger->set_frozen("ice", true));
    auto pay = [&] {
        auto plan = f.flow->on_payment_required(request_for("alice"), challenge_v2(json::array({offer_v2("1000")})));
        REQUIRE(plan.what == payment_plan::action::pay);
        return plan;
    };
    f.flow->on_paid_response(pay(), request_for("alice"), 200, receipt(true, tx_a));
    f.flow->on_paid_response(pay(), request_for("alice"), 200, receipt(true, tx_b));
    f.flow->on_paid_response(pay(), request_for("alice"), 402, {});
    f.flow->on_paid_response(pay(), request_for("alice"), 200, {});
    f.flow->on_paid_failure(pay(), request_for("alice"), proxy::delivery::not_sent, "refused");
    for (int i = 0; i < 3; ++i) {
        auto plan = f.flow->on_payment_required(request_for("ice"), challenge_v2(json::array({offer_v2("1000")})));
        CHECK(plan.what == payment_plan::action::decline);
    }

    auto e = test::prom::parse(options.stats->render({}));
    std::map<std::map<std::string, std::string>, std::uint64_t> payments;
    std::map<std::map<std::string, std::string>, std::uint64_t> declines;
    protocol::uint256 paid;
    for (const auto& row : f.rows()) {
        if (row.state == store::status::declined) {
            declines[{{"reason", std::string(store::to_string(*row.why))}}] += row.repeats;
            continue;
        }
        ++payments[{{"scheme", row.scheme}, {"status", std::string(store::to_string(row.state))}}];
        if (row.state == store::status::paid) paid = *paid.add(*row.charged_atomic);
    }
    CHECK(payments.size() == 4);  // paid, failed, in_doubt, released
    for (const auto& [labels, n] : payments) {
        INFO(labels.at("status"));
        CHECK(test::prom::value_of(e, "purser_payments_total", "purser_payments_total", labels) ==
              std::to_string(n));
    }
    REQUIRE(declines.size() == 1);
    CHECK(test::prom::value_of(e, "purser_declines_total", "purser_declines_total",
                               {{"reason", "agent_frozen"}}) == "3");
    CHECK(declines.begin()->second == 3);  // one folded row standing for three declines
    CHECK(paid.to_decimal() == "2000");
    const store::ledger_row first = f.rows().front();
    CHECK(test::prom::value_of(e, "purser_paid_atomic_total", "purser_paid_atomic_total",
                               {{"agent", "alice"}, {"asset", first.asset}, {"network", first.network}}) ==
          "2000");
    CHECK(test::prom::value_of(e, "purser_payment_duration_seconds",
                               "purser_payment_duration_seconds_count") == "4");
}
