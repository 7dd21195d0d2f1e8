// The batch merchant checks an EOA-signed voucher itself while the channel's on-chain state is
// fresh, as the official server does (server/verify.ts, onchainStateTtlMs): the facilitator is
// asked about the deposit, not about each voucher after it; with a zero TTL it is asked each time.
#include <atomic>

#include "purser/protocol/networks.hpp"
#include "purser/testnet/merchant.hpp"
#include "purser/testnet/world.hpp"
#include "purser/wallet/batch.hpp"
#include "world_support.hpp"

using namespace purser;
using purser::test::call;
using purser::test::error_of;
using purser::test::offer_for;
using purser::test::terms;
using protocol::uint256;

TEST_CASE("the batch merchant verifies vouchers itself on fresh channel state, and asks the facilitator with a zero TTL", "[testnet]") {
    purser::test::temp_dir dir;
    auto w = purser::test::start_world(dir.path());
    // The real facilitator behind a counter of its /verify calls.
    std::atomic<int> verifies{0};
    auto real = w->facilitator().http();
    auto counted = testnet::http_server::start(0, [&](const testnet::http_request& r) {
        if (r.path() == "/verify") ++verifies;
        return real(r);
    });
    REQUIRE(counted);
    testnet::merchant_config c = w->merchant_v2().config();
    c.facilitator_url = (*counted)->base_url();
    const bool zero_ttl = GENERATE(false, true);
    if (zero_ttl) c.onchain_state_ttl_ms = 0;
    testnet::merchant m(c);
    auto served = testnet::http_server::start(0, m.http());
    REQUIRE(served);
    const std::string url = (*served)->base_url() + "/metered";

    auto pr = terms(call("GET", url, *w));
    const auto& offer = offer_for(pr, "batch-settlement");
    const uint256 price = offer.amount;
    auto payer = purser::test::signer_for(testnet::payer_account.private_key);
    auto ch = wallet::make_batch_channel(payer->address(), offer, protocol::network_registry::builtin());
    REQUIRE(ch);
    auto send = [&](const protocol::ojson& scheme_payload) {
        auto payload = protocol::make_payment_payload(pr, offer, scheme_payload);
        return call("GET", url, *w, {{"PAYMENT-SIGNATURE", protocol::encode_payment_header(payload)}});
    };
    auto voucher = [&](wallet::signer& s, std::uint64_t n) {
        auto v = wallet::sign_voucher(s, ch->chain_id, ch->id, *price.mul(uint256{n}));
        REQUIRE(v);
        return *v;
    };

    wallet::deposit_options dopt;
    dopt.valid_before = testnet::system_seconds() + 600;
    auto dep = wallet::sign_deposit(*payer, *ch, *price.mul(uint256{10}), dopt);
    REQUIRE(dep);
    REQUIRE(send(wallet::deposit_payload(*ch, voucher(*payer, 1), *dep)).status == 200);
    CHECK(verifies == 1);
    for (std::uint64_t n = 2; n <= 4; ++n) {
        auto r = send(wallet::voucher_payload(*ch, voucher(*payer, n)));
        REQUIRE(r.status == 200);
        auto s = protocol::decode_settle_response_header(r.header("payment-response"));
        REQUIRE(s);
        CHECK(s->extra["channelState"]["chargedCumulativeAmount"] == price.mul(uint256{n})->to_decimal());
        CHECK(s->extra["channelState"]["balance"] == price.mul(uint256{10})->to_decimal());
    }
    CHECK(verifies == (zero_ttl ? 4 : 1));
    // The merchant remembers configs proven to hash to their channel id, not ids: once the id
    // is proven, a voucher for it with another config is refused all the same.
    auto forged = wallet::voucher_payload(*ch, voucher(*payer, 5));
    forged["channelConfig"]["salt"] = "0x" + std::string(64, 'f');
    CHECK(error_of(send(forged)) == "invalid_batch_settlement_evm_channel_id_mismatch");
    // Someone else's signature is refused either way, locally before any facilitator call.
    auto poor = purser::test::signer_for(testnet::poor_account.private_key);
    CHECK(error_of(send(wallet::voucher_payload(*ch, voucher(*poor, 5)))) ==
          "invalid_batch_settlement_evm_voucher_signature");
    CHECK(verifies == (zero_ttl ? 4 : 1));
    // What the merchant kept is what the chain pays it.
    auto settled = m.settle_batches();
    REQUIRE(settled);
    CHECK((*settled)["success"] == true);
    CHECK(w->chain().channel(ch->id)->total_claimed == *price.mul(uint256{4}));
}
