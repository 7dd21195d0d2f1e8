// The whole testnet in-process on free ports, paid over real HTTP(S) with the wallet library:
// v1 and v2, exact and batch-settlement; every rejection names its reason and moves nothing.
#include "purser/testnet/world.hpp"

#include "purser/protocol/networks.hpp"
#include "purser/wallet/batch.hpp"
#include "world_support.hpp"

using namespace purser;
using purser::test::balance;
using purser::test::call;
using purser::test::error_of;
using purser::test::offer_for;
using purser::test::terms;
using protocol::uint256;

namespace {

struct fixture {
    purser::test::temp_dir dir;
    std::unique_ptr<testnet::world> w = purser::test::start_world(dir.path());
    std::unique_ptr<wallet::local_signer> payer = purser::test::signer_for(testnet::payer_account.private_key);
    const std::string payer_addr{testnet::payer_account.address};
    const std::string payee_addr{testnet::payee_account.address};

    std::string base(int version) const { return version == 2 ? w->merchant_http_url() : w->merchant_v1_http_url(); }

    wallet::exact_payment sign(const std::string& url, int version, wallet::signer& s,
                               const wallet::exact_options& opts = {}) {
        auto r = call("GET", url, *w);
        auto pr = terms(r);
        CHECK(pr.x402_version == version);
        auto p = wallet::sign_exact(s, pr, offer_for(pr, "exact"), opts);
        REQUIRE(p);
        return *p;
    }
};

uint256 u(std::uint64_t v) { return uint256{v}; }

}  // namespace

TEST_CASE("exact v2 and v1 over HTTP and HTTPS: balances move by exactly the price", "[testnet]") {
    fixture f;
    const uint256 supply = *f.w->chain().total_supply();
    struct target {
        std::string url;
        int version;
    };
    for (const target& t : {target{f.w->merchant_http_url() + "/weather", 2},
                            target{f.w->merchant_https_url() + "/weather", 2},
                            target{f.w->merchant_v1_http_url() + "/weather", 1},
                            target{f.w->merchant_v1_https_url() + "/weather", 1}}) {
        INFO(t.url);
        const uint256 payer0 = balance(*f.w, f.payer_addr);
        const uint256 payee0 = balance(*f.w, f.payee_addr);
        auto first = call("GET", t.url, *f.w);
        auto pr = terms(first);
        const auto& offer = offer_for(pr, "exact");
        if (t.version == 2) {
            CHECK(first.body == "{}");
            REQUIRE(pr.resource);
            CHECK(pr.resource->url == t.url);  // the URL as the client asked for it
        } else {
            CHECK(pr.error == "X-PAYMENT header is required");
            CHECK(offer.resource == t.url);
        }
        auto p = wallet::sign_exact(*f.payer, pr, offer);
        REQUIRE(p);
        auto paid = call("GET", t.url, *f.w, {{p->header_name, p->header_value}});
        REQUIRE(paid.status == 200);
        CHECK(nlohmann::json::parse(paid.body)["location"] == "Testnet City");
        const std::string receipt_header = paid.header(t.version == 2 ? "payment-response" : "x-payment-response");
        auto sr = protocol::decode_settle_response_header(receipt_header);
        REQUIRE(sr);
        CHECK(sr->success);
        CHECK(sr->payer == f.payer_addr);
        CHECK(sr->network == (t.version == 2 ? "eip155:31337" : "purser-testnet"));
        auto tx = protocol::bytes32_from_hex(sr->transaction);
        REQUIRE(tx);
        auto rc = f.w->chain().get_receipt(*tx);
        REQUIRE(rc);
        REQUIRE(rc->has_value());
        CHECK((*rc)->status);
        CHECK(*balance(*f.w, f.payer_addr).add(offer.amount) == payer0);
        CHECK(balance(*f.w, f.payee_addr) == *payee0.add(offer.amount));
    }
    CHECK(*f.w->chain().total_supply() == supply);
}

TEST_CASE("paid /echo returns the body byte for byte and /stream sends its events and /free is free", "[testnet]") {
    fixture f;
    std::string body;
    for (int i = 0; i < 256; ++i) body.push_back(static_cast<char>(i));
    body += "\r\n{\"x\":1}";
    const std::string url = f.w->merchant_https_url() + "/echo";
    auto first = call("POST", url, *f.w, {{"Content-Type", "application/octet-stream"}}, body);
    auto pr = terms(first);
    auto p = wallet::sign_exact(*f.payer, pr, offer_for(pr, "exact"));
    REQUIRE(p);
    auto paid = call("POST", url, *f.w, {{"Content-Type", "application/octet-stream"}, {p->header_name, p->header_value}}, body);
    REQUIRE(paid.status == 200);
    CHECK(paid.body == body);

    auto sp = f.sign(f.w->merchant_http_url() + "/stream", 2, *f.payer);
    auto stream = call("GET", f.w->merchant_http_url() + "/stream", *f.w, {{sp.header_name, sp.header_value}});
    REQUIRE(stream.status == 200);
    CHECK(stream.header("content-type") == "text/event-stream");
    CHECK(stream.header("transfer-encoding") == "chunked");
    for (int i = 1; i <= 5; ++i) CHECK(stream.body.find("data: {\"n\":" + std::to_string(i)) != std::string::npos);
    CHECK_FALSE(stream.header("payment-response").empty());

    auto free = call("GET", f.w->merchant_v1_http_url() + "/free", *f.w);
    CHECK(free.status == 200);
    auto premium = terms(call("GET", f.w->merchant_http_url() + "/premium", *f.w));
    CHECK(premium.accepts[0].amount == u(5'000'000));
    auto metered = terms(call("GET", f.w->merchant_http_url() + "/metered", *f.w));
    REQUIRE(metered.accepts.size() == 2);
    CHECK(offer_for(metered, "batch-settlement").extra["receiverAuthorizer"] == testnet::facilitator_account.address);
}

namespace {

// Re-points a signed v2 payload's `accepted` at the merchant's real offer, so the merchant
// matches it and the facilitator has to catch the signed difference.
std::string with_accepted(const wallet::exact_payment& p, const protocol::payment_requirements& real) {
    auto payload = p.payload;
    payload.accepted = real.raw;
    return protocol::encode_payment_header(payload);
}

}  // namespace

TEST_CASE("bad exact payments are rejected with the facilitator's code and move nothing", "[testnet]") {
    fixture f;
    auto poor = purser::test::signer_for(testnet::poor_account.private_key);
    for (int version : {2, 1}) {
        INFO("x402 v" << version);
        const std::string url = f.base(version) + "/weather";
        auto pr = terms(call("GET", url, *f.w));
        const auto& real = offer_for(pr, "exact");
        const std::string name = version == 2 ? "PAYMENT-SIGNATURE" : "X-PAYMENT";
        const uint256 payer0 = balance(*f.w, f.payer_addr);
        const uint256 payee0 = balance(*f.w, f.payee_addr);
        const uint256 poor0 = balance(*f.w, testnet::poor_account.address);
        auto expect_rejected = [&](const std::string& header_value, const std::string& code) {
            auto r = call("GET", url, *f.w, {{name, header_value}});
            CHECK(r.status == 402);
            CHECK(error_of(r) == code);
            CHECK(balance(*f.w, f.payer_addr) == payer0);
            CHECK(balance(*f.w, f.payee_addr) == payee0);
            CHECK(balance(*f.w, testnet::poor_account.address) == poor0);
        };

        // Replay: the first use pays, the second is refused.
        auto once = wallet::sign_exact(*f.payer, pr, real);
        REQUIRE(once);
        REQUIRE(call("GET", url, *f.w, {{name, once->header_value}}).status == 200);
        const uint256 after_once = balance(*f.w, f.payer_addr);
        CHECK(*after_once.add(real.amount) == payer0);
        auto replay = call("GET", url, *f.w, {{name, once->header_value}});
        CHECK(replay.status == 402);
        CHECK(error_of(replay) == "invalid_exact_evm_nonce_already_used");
        CHECK(balance(*f.w, f.payer_addr) == after_once);
        CHECK(*balance(*f.w, f.payee_addr).sub(real.amount) == payee0);
        const uint256 payer1 = after_once;
        const uint256 payee1 = balance(*f.w, f.payee_addr);
        auto expect_still = [&](const std::string& header_value, const std::string& code) {
            auto r = call("GET", url, *f.w, {{name, header_value}});
            CHECK(r.status == 402);
            CHECK(error_of(r) == code);
            CHECK(balance(*f.w, f.payer_addr) == payer1);
            CHECK(balance(*f.w, f.payee_addr) == payee1);
            CHECK(balance(*f.w, testnet::poor_account.address) == poor0);
        };
        (void)expect_rejected;

        // Expired: validBefore already passed.
        wallet::exact_options expired;
        const std::uint64_t now = testnet::system_seconds();
        expired.valid_after = 0;
        expired.valid_before = now - 1;
        auto e = wallet::sign_exact(*f.payer, pr, real, expired);
        REQUIRE(e);
        expect_still(e->header_value, "invalid_exact_evm_payload_authorization_valid_before");

        // Not yet valid.
        wallet::exact_options future;
        future.valid_after = now + 3600;
        future.valid_before = now + 7200;
        auto fu = wallet::sign_exact(*f.payer, pr, real, future);
        REQUIRE(fu);
        expect_still(fu->header_value, "invalid_exact_evm_payload_authorization_valid_after");

        // Wrong payTo: the authorization pays someone else.
        auto wrong = real;
        wrong.pay_to = std::string(testnet::poor_account.address);
        wrong.raw["payTo"] = wrong.pay_to;
        auto wp = wallet::sign_exact(*f.payer, pr, wrong);
        REQUIRE(wp);
        expect_still(version == 2 ? with_accepted(*wp, real) : wp->header_value, "invalid_exact_evm_recipient_mismatch");

        // Short amount.
        auto shortp = real;
        shortp.amount = *real.amount.sub(uint256{1});
        shortp.raw[version == 2 ? "amount" : "maxAmountRequired"] = shortp.amount.to_decimal();
        auto sp = wallet::sign_exact(*f.payer, pr, shortp);
        REQUIRE(sp);
        expect_still(version == 2 ? with_accepted(*sp, real) : sp->header_value,
                     "invalid_exact_evm_payload_authorization_value_mismatch");

        // Signed by a key that is not `from`: tamper the signature's owner by re-signing.
        auto other = wallet::sign_exact(*poor, pr, real);
        REQUIRE(other);
        auto forged = other->payload;
        forged.payload["authorization"]["from"] = f.payer_addr;
        expect_still(protocol::encode_payment_header(forged), "invalid_exact_evm_signature");

        // Underfunded payer.
        expect_still(other->header_value, "invalid_exact_evm_insufficient_balance");

        // v2: an accepted that matches nothing; and no header at all.
        if (version == 2) {
            auto moved = *once;
            moved.payload.accepted["amount"] = "1";
            auto r = call("GET", url, *f.w, {{name, protocol::encode_payment_header(moved.payload)}});
            CHECK(error_of(r) == "No matching payment requirements");
        }
    }
}

TEST_CASE("batch-settlement v2: deposit then vouchers then corrective 402 then claim+settle then refund", "[testnet]") {
    fixture f;
    const std::string url = f.w->merchant_http_url() + "/metered";
    auto pr = terms(call("GET", url, *f.w));
    const auto& offer = offer_for(pr, "batch-settlement");
    const uint256 price = offer.amount;
    const auto registry = protocol::network_registry::builtin();
    auto ch = wallet::make_batch_channel(*protocol::address::parse(f.payer_addr), offer, registry);
    REQUIRE(ch);
    const uint256 supply = *f.w->chain().total_supply();
    const uint256 payer0 = balance(*f.w, f.payer_addr);
    const uint256 payee0 = balance(*f.w, f.payee_addr);
    const auto escrow = protocol::batch_settlement_contract().to_checksum();
    const uint256 deposit = *price.mul(uint256{5});

    auto send = [&](const protocol::ojson& scheme_payload) {
        auto payload = protocol::make_payment_payload(pr, offer, scheme_payload);
        return call("GET", url, *f.w, {{"PAYMENT-SIGNATURE", protocol::encode_payment_header(payload)}});
    };
    auto voucher = [&](const uint256& max) {
        auto v = wallet::sign_voucher(*f.payer, ch->chain_id, ch->id, max);
        REQUIRE(v);
        return *v;
    };

    // Deposit + first voucher.
    wallet::deposit_options dopt;
    dopt.valid_before = testnet::system_seconds() + 600;
    auto dep = wallet::sign_deposit(*f.payer, *ch, deposit, dopt);
    REQUIRE(dep);
    auto r1 = send(wallet::deposit_payload(*ch, voucher(price), *dep));
    REQUIRE(r1.status == 200);
    auto s1 = protocol::decode_settle_response_header(r1.header("payment-response"));
    REQUIRE(s1);
    CHECK(s1->success);
    CHECK_FALSE(s1->transaction.empty());
    CHECK(s1->extra["chargedAmount"] == price.to_decimal());
    CHECK(s1->extra["channelState"]["balance"] == deposit.to_decimal());
    CHECK(*balance(*f.w, f.payer_addr).add(deposit) == payer0);
    CHECK(balance(*f.w, escrow) == deposit);

    // Three more vouchers: nothing moves on chain.
    for (std::uint64_t n = 2; n <= 4; ++n) {
        auto r = send(wallet::voucher_payload(*ch, voucher(*price.mul(uint256{n}))));
        REQUIRE(r.status == 200);
        auto s = protocol::decode_settle_response_header(r.header("payment-response"));
        REQUIRE(s);
        CHECK(s->transaction.empty());
        CHECK(s->extra["channelState"]["chargedCumulativeAmount"] == price.mul(uint256{n})->to_decimal());
    }
    CHECK(balance(*f.w, escrow) == deposit);

    // A stale cumulative amount gets the corrective 402.
    auto stale = send(wallet::voucher_payload(*ch, voucher(*price.mul(uint256{4}))));
    CHECK(stale.status == 402);
    auto corrective = terms(stale);
    CHECK(corrective.error == "invalid_batch_settlement_evm_cumulative_amount_mismatch");
    CHECK(offer_for(corrective, "batch-settlement").extra["channelState"]["chargedCumulativeAmount"] ==
          price.mul(uint256{4})->to_decimal());
    // A jump past the charged total is a mismatch too, checked before the balance (as the
    // official server does).
    auto jump = send(wallet::voucher_payload(*ch, voucher(*deposit.add(uint256{1}))));
    CHECK(error_of(jump) == "invalid_batch_settlement_evm_cumulative_amount_mismatch");
    // A voucher signed by someone else.
    auto poor = purser::test::signer_for(testnet::poor_account.private_key);
    auto forged = wallet::sign_voucher(*poor, ch->chain_id, ch->id, *price.mul(uint256{5}));
    REQUIRE(forged);
    auto bad = send(wallet::voucher_payload(*ch, *forged));
    CHECK(error_of(bad) == "invalid_batch_settlement_evm_voucher_signature");

    // The merchant claims and settles: the payee receives exactly 4 x price.
    auto settled = f.w->merchant_v2().settle_batches();
    REQUIRE(settled);
    CHECK((*settled)["success"] == true);
    CHECK(balance(*f.w, f.payee_addr) == *payee0.add(*price.mul(uint256{4})));
    // A voucher at or below what is now claimed still gets the corrective 402, carrying the
    // payer's own last voucher, not the chain's cumulative_below_claimed.
    auto behind = terms(send(wallet::voucher_payload(*ch, voucher(*price.mul(uint256{3})))));
    CHECK(behind.error == "invalid_batch_settlement_evm_cumulative_amount_mismatch");
    const auto& vstate = offer_for(behind, "batch-settlement").extra["voucherState"];
    CHECK(vstate["signedMaxClaimable"] == price.mul(uint256{4})->to_decimal());
    CHECK(vstate["signature"] == voucher(*price.mul(uint256{4})).sig.to_hex());

    // Cooperative refund of the rest (zero-charge voucher at the charged total).
    auto refund = wallet::voucher_payload(*ch, voucher(*price.mul(uint256{4})));
    refund["type"] = "refund";
    auto rr = send(refund);
    REQUIRE(rr.status == 200);
    auto sr = protocol::decode_settle_response_header(rr.header("payment-response"));
    REQUIRE(sr);
    CHECK(sr->success);
    CHECK(*sr->amount == *deposit.sub(*price.mul(uint256{4})));
    CHECK(*balance(*f.w, f.payer_addr).add(*price.mul(uint256{4})) == payer0);
    CHECK(balance(*f.w, escrow) == u(0));
    CHECK(*f.w->chain().total_supply() == supply);
}

TEST_CASE("underfunded batch deposit and v1 merchant without batch-settlement", "[testnet]") {
    fixture f;
    const std::string url = f.w->merchant_http_url() + "/metered";
    auto pr = terms(call("GET", url, *f.w));
    const auto& offer = offer_for(pr, "batch-settlement");
    auto poor = purser::test::signer_for(testnet::poor_account.private_key);
    auto ch = wallet::make_batch_channel(poor->address(), offer, protocol::network_registry::builtin());
    REQUIRE(ch);
    auto v = wallet::sign_voucher(*poor, ch->chain_id, ch->id, offer.amount);
    wallet::deposit_options dopt;
    dopt.valid_before = testnet::system_seconds() + 600;
    auto dep = wallet::sign_deposit(*poor, *ch, uint256{1'000'000}, dopt);
    REQUIRE(v);
    REQUIRE(dep);
    auto payload = protocol::make_payment_payload(pr, offer, wallet::deposit_payload(*ch, *v, *dep));
    auto r = call("GET", url, *f.w, {{"PAYMENT-SIGNATURE", protocol::encode_payment_header(payload)}});
    CHECK(error_of(r) == "invalid_batch_settlement_evm_insufficient_balance");
    CHECK(balance(*f.w, testnet::poor_account.address) == uint256{testnet::poor_funding_atomic});
    // A deposit too small for its own voucher.
    auto small = wallet::sign_deposit(*poor, *ch, *offer.amount.sub(uint256{1}), dopt);
    REQUIRE(small);
    payload = protocol::make_payment_payload(pr, offer, wallet::deposit_payload(*ch, *v, *small));
    r = call("GET", url, *f.w, {{"PAYMENT-SIGNATURE", protocol::encode_payment_header(payload)}});
    CHECK(error_of(r) == "invalid_batch_settlement_evm_cumulative_exceeds_balance");
    CHECK(balance(*f.w, testnet::poor_account.address) == uint256{testnet::poor_funding_atomic});

    auto v1 = terms(call("GET", f.w->merchant_v1_http_url() + "/metered", *f.w));
    for (const auto& o : v1.accepts) CHECK(o.scheme == "exact");
}

TEST_CASE("1000 sequential paid requests succeed and leave total supply unchanged", "[testnet]") {
    fixture f;
    const uint256 supply = *f.w->chain().total_supply();
    const uint256 payer0 = balance(*f.w, f.payer_addr);
    const std::string url = f.w->merchant_http_url() + "/weather";
    auto pr = terms(call("GET", url, *f.w));
    const auto& offer = offer_for(pr, "exact");
    int ok = 0;
    for (int i = 0; i < 1000; ++i) {
        auto p = wallet::sign_exact(*f.payer, pr, offer);
        REQUIRE(p);
        auto r = call("GET", url, *f.w, {{p->header_name, p->header_value}});
        if (r.status != 200) FAIL("request " << i << " got " << r.status << ": " << r.header("payment-required"));
        ++ok;
    }
    CHECK(ok == 1000);
    CHECK(*balance(*f.w, f.payer_addr).add(*offer.amount.mul(uint256{1000})) == payer0);
    CHECK(*f.w->chain().total_supply() == supply);
}

TEST_CASE("a restarted testnet keeps its CA so a proxy trusting ca.pem keeps working", "[testnet]") {
    purser::test::temp_dir dir;
    std::string first_ca;
    {
        auto w = purser::test::start_world(dir.path());
        first_ca = purser::test::read_file(w->ca_file());
        REQUIRE_FALSE(first_ca.empty());
    }
    auto w = purser::test::start_world(dir.path());
    CHECK(purser::test::read_file(w->ca_file()) == first_ca);
    // The HTTPS merchant still verifies against the CA written by the first start.
    auto r = call("GET", w->merchant_https_url() + "/free", *w);
    CHECK(r.status == 200);
    const auto key = dir.path() / "merchant-tls.key";
    REQUIRE(std::filesystem::exists(key));
    CHECK((std::filesystem::status(key).permissions() & std::filesystem::perms::group_all) ==
          std::filesystem::perms::none);
}
