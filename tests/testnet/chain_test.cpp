// Chain rules: EIP-3009 (USDC's checks), the batch-settlement escrow, persistence. Every
// rejection must leave balances, supply and nonces exactly as they were.
#include "purser/testnet/chain.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "purser/protocol/eip712.hpp"
#include "purser/testnet/accounts.hpp"
#include "purser/testnet/rpc.hpp"
#include "test_support.hpp"

using namespace purser;
using namespace purser::testnet;
using protocol::transfer_authorization;

namespace {

struct fake_clock {
    std::shared_ptr<std::uint64_t> t = std::make_shared<std::uint64_t>(1'800'000'000);
    clock_fn fn() const {
        auto p = t;
        return [p] { return *p; };
    }
};

address addr(std::string_view s) { return *address::parse(s); }
bytes32 key(std::string_view s) { return *protocol::bytes32_from_hex(s); }
uint256 u(std::uint64_t v) { return uint256{v}; }

protocol::bytes sign_td(std::string_view k, const protocol::eip712::typed_data& td) {
    return *sign_digest(key(k), *protocol::eip712::hash_typed_data(td));
}

bytes32 nonce_of(std::uint8_t b) {
    bytes32 n{};
    n.fill(b);
    return n;
}

struct world {
    purser::test::temp_dir dir;
    fake_clock clock;
    std::unique_ptr<chain> c = *chain::open(dir.path() / "chain", clock.fn());
    address payer = addr(payer_account.address);
    address payee = addr(payee_account.address);
    address fac = addr(facilitator_account.address);

    transfer_authorization auth(std::uint64_t value, std::uint8_t n) const {
        return {payer, payee, u(value), u(0), u(*clock.t + 60), nonce_of(n)};
    }
    protocol::bytes sign(const transfer_authorization& a,
                         protocol::authorization_kind k = protocol::authorization_kind::transfer,
                         std::string_view pk = payer_account.private_key) const {
        return sign_td(pk, protocol::authorization_typed_data(c->token_domain(), a, k));
    }
    uint256 bal(const address& a) const { return *c->balance_of(a); }
};

}  // namespace

TEST_CASE("recover_signer reproduces the EIP-3009 vectors") {
    auto v = purser::test::load_vectors("eip3009.json");
    for (auto& cs : v["cases"]) {
        auto digest = key(cs["digest"].get<std::string>());
        auto sig = *protocol::from_hex(cs["signature"].get<std::string>());
        auto who = recover_signer(digest, sig);
        REQUIRE(who);
        CHECK(who->to_checksum() == cs["message"]["from"].get<std::string>());
        auto mine = sign_digest(key(cs["private_key"].get<std::string>()), digest);
        REQUIRE(mine);
        CHECK(protocol::to_hex(*mine) == cs["signature"].get<std::string>());
    }
}

TEST_CASE("recover_signer: a repeated recovery (remembered) answers as the first did") {
    const bytes32 digest = nonce_of(0x42);
    const auto by_payer = *sign_digest(key(payer_account.private_key), digest);
    const auto by_payee = *sign_digest(key(payee_account.private_key), digest);
    for (int i = 0; i < 2; ++i) {  // the second round is answered from the memo
        CHECK(recover_signer(digest, by_payer)->to_checksum() == payer_account.address);
        CHECK(recover_signer(digest, by_payee)->to_checksum() == payee_account.address);
    }
    // Another digest under the same signature bytes is a different question.
    auto other = recover_signer(nonce_of(0x43), by_payer);
    CHECK((!other || other->to_checksum() != payer_account.address));
    // A refused signature stays refused, however often it comes: v = 29 is not ECRecover's.
    auto bad = by_payer;
    bad.back() = 29;
    for (int i = 0; i < 2; ++i) CHECK_FALSE(recover_signer(digest, bad));
}

TEST_CASE("mint raises balance and supply with a receipt") {
    world w;
    auto h = w.c->mint(w.payer, u(1'000'000));
    REQUIRE(h);
    CHECK(w.bal(w.payer) == u(1'000'000));
    CHECK(*w.c->total_supply() == u(1'000'000));
    auto r = w.c->get_receipt(*h);
    REQUIRE(r);
    REQUIRE(r->has_value());
    CHECK((*r)->status);
    CHECK((*r)->kind == "mint");
    CHECK(w.c->mint(w.payer, u(0)).error().code == make_error_code(errc::invalid_request));
    CHECK(w.c->mint(address(), u(5)).error().code == make_error_code(errc::invalid_request));
    CHECK(*w.c->total_supply() == u(1'000'000));
    auto h2 = w.c->mint(w.payer, u(1'000'000));
    CHECK(*h2 != *h);  // equal calls still get distinct hashes
}

TEST_CASE("transferWithAuthorization moves exactly value and each rejection moves nothing") {
    world w;
    REQUIRE(w.c->mint(w.payer, u(50'000)));
    auto a = w.auth(10'000, 1);
    auto sig = w.sign(a);
    // Simulation checks without changing state.
    REQUIRE(w.c->transfer_with_authorization(a, sig, exec::simulate));
    CHECK(w.bal(w.payer) == u(50'000));
    CHECK_FALSE(*w.c->authorization_state(w.payer, a.nonce));

    REQUIRE(w.c->transfer_with_authorization(a, sig));
    CHECK(w.bal(w.payer) == u(40'000));
    CHECK(w.bal(w.payee) == u(10'000));
    CHECK(*w.c->authorization_state(w.payer, a.nonce));
    CHECK(*w.c->total_supply() == u(50'000));

    auto expect_nothing_moved = [&](const result<bytes32>& r, errc code) {
        REQUIRE_FALSE(r);
        CHECK(r.error().code == make_error_code(code));
        CHECK(w.bal(w.payer) == u(40'000));
        CHECK(w.bal(w.payee) == u(10'000));
        CHECK(*w.c->total_supply() == u(50'000));
    };
    SECTION("replay") { expect_nothing_moved(w.c->transfer_with_authorization(a, sig), errc::authorization_used); }
    SECTION("expired") {
        auto b = w.auth(1'000, 2);
        b.valid_before = u(*w.clock.t);
        expect_nothing_moved(w.c->transfer_with_authorization(b, w.sign(b)), errc::authorization_expired);
        CHECK_FALSE(*w.c->authorization_state(w.payer, b.nonce));
    }
    SECTION("not yet valid") {
        auto b = w.auth(1'000, 3);
        b.valid_after = u(*w.clock.t);
        expect_nothing_moved(w.c->transfer_with_authorization(b, w.sign(b)), errc::authorization_not_yet_valid);
    }
    SECTION("signed by someone else") {
        auto b = w.auth(1'000, 4);
        expect_nothing_moved(w.c->transfer_with_authorization(
                                 b, w.sign(b, protocol::authorization_kind::transfer, poor_account.private_key)),
                             errc::invalid_signature);
    }
    SECTION("tampered value") {
        auto b = w.auth(1'000, 5);
        auto s = w.sign(b);
        b.value = u(2'000);
        expect_nothing_moved(w.c->transfer_with_authorization(b, s), errc::invalid_signature);
    }
    SECTION("receive-typed signature used for transfer") {
        auto b = w.auth(1'000, 6);
        expect_nothing_moved(w.c->transfer_with_authorization(b, w.sign(b, protocol::authorization_kind::receive)),
                             errc::invalid_signature);
    }
    SECTION("over balance") {
        auto b = w.auth(40'001, 7);
        expect_nothing_moved(w.c->transfer_with_authorization(b, w.sign(b)), errc::insufficient_balance);
        CHECK_FALSE(*w.c->authorization_state(w.payer, b.nonce));
    }
    SECTION("malformed signature") {
        auto b = w.auth(1'000, 8);
        auto s = w.sign(b);
        s[64] = 1;
        expect_nothing_moved(w.c->transfer_with_authorization(b, s), errc::invalid_signature);
        s.pop_back();
        expect_nothing_moved(w.c->transfer_with_authorization(b, s), errc::invalid_signature);
    }
    SECTION("the high-s twin of a valid signature") {
        // (r, n - s) with the other v recovers the same key; USDC refuses it as malleable.
        auto b = w.auth(1'000, 9);
        auto s = w.sign(b);
        const auto n = *uint256::from_decimal(
            "115792089237316195423570985008687907852837564279074904382605163141518161494337");
        const auto low = *uint256::from_be_bytes(protocol::byte_view(s.data() + 32, 32));
        const auto high = (*n.sub(low)).to_be_bytes();
        std::copy(high.begin(), high.end(), s.begin() + 32);
        s[64] = s[64] == 27 ? 28 : 27;
        expect_nothing_moved(w.c->transfer_with_authorization(b, s), errc::invalid_signature);
    }
}

TEST_CASE("concurrent transfers share commits and each is judged alone") {
    // Transfers from many threads meet in the chain's group commit: one LMDB transaction per
    // batch, a nested one per transfer. A replay rejected inside a batch must undo only itself.
    world w;
    REQUIRE(w.c->mint(w.payer, u(1'000'000)));
    constexpr int threads = 16;
    constexpr int per_thread = 8;
    std::vector<std::vector<bytes32>> hashes(threads);
    std::vector<int> replays_refused(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const auto a = w.auth(100, static_cast<std::uint8_t>(1 + t * per_thread + i));
                const auto sig = w.sign(a);
                if (auto h = w.c->transfer_with_authorization(a, sig)) hashes[t].push_back(*h);
                auto again = w.c->transfer_with_authorization(a, sig);
                if (!again && again.error().code == make_error_code(errc::authorization_used)) {
                    ++replays_refused[t];
                }
            }
        });
    }
    for (auto& th : pool) th.join();

    std::set<bytes32> distinct;
    for (int t = 0; t < threads; ++t) {
        CHECK(hashes[t].size() == per_thread);
        CHECK(replays_refused[t] == per_thread);
        for (const auto& h : hashes[t]) {
            distinct.insert(h);
            auto r = w.c->get_receipt(h);
            REQUIRE(r);
            CHECK(r->has_value());
        }
    }
    CHECK(distinct.size() == threads * per_thread);
    CHECK(w.bal(w.payer) == u(1'000'000 - 100 * threads * per_thread));
    CHECK(w.bal(w.payee) == u(100 * threads * per_thread));
    CHECK(*w.c->total_supply() == u(1'000'000));
    for (int n = 1; n <= threads * per_thread; ++n) {
        CHECK(*w.c->authorization_state(w.payer, nonce_of(static_cast<std::uint8_t>(n))));
    }
}

TEST_CASE("increaseTime from many threads adds every step") {
    world w;
    const std::uint64_t start = w.c->now();
    std::atomic<int> failed{0};  // Catch's assertions are not for other threads
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t) {
        pool.emplace_back([&] {
            for (int i = 0; i < 4; ++i) {
                if (!w.c->increase_time(5)) ++failed;
            }
        });
    }
    for (auto& th : pool) th.join();
    CHECK(failed == 0);
    CHECK(w.c->now() == start + 8 * 4 * 5);
}

TEST_CASE("receiveWithAuthorization requires the payee as caller and cancelAuthorization burns a nonce") {
    world w;
    REQUIRE(w.c->mint(w.payer, u(5'000)));
    auto a = w.auth(1'000, 9);
    auto sig = w.sign(a, protocol::authorization_kind::receive);
    auto r = w.c->receive_with_authorization(w.fac, a, sig);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == make_error_code(errc::caller_not_payee));
    CHECK(w.bal(w.payer) == u(5'000));
    REQUIRE(w.c->receive_with_authorization(w.payee, a, sig));
    CHECK(w.bal(w.payee) == u(1'000));

    auto b = w.auth(1'000, 10);
    protocol::eip712::typed_data td;
    td.types["CancelAuthorization"] = {{"authorizer", "address"}, {"nonce", "bytes32"}};
    td.primary_type = "CancelAuthorization";
    td.domain = protocol::to_json(w.c->token_domain());
    td.message = {{"authorizer", w.payer.to_checksum()}, {"nonce", protocol::to_hex(b.nonce)}};
    auto csig = sign_td(payer_account.private_key, td);
    REQUIRE(w.c->cancel_authorization(w.payer, b.nonce, csig));
    CHECK(*w.c->authorization_state(w.payer, b.nonce));
    auto t = w.c->transfer_with_authorization(b, w.sign(b));
    REQUIRE_FALSE(t);
    CHECK(t.error().code == make_error_code(errc::authorization_used));
    CHECK(w.bal(w.payer) == u(4'000));
}

namespace {

protocol::channel_config make_config(const world& w) {
    protocol::channel_config cfg;
    cfg.payer = w.payer;
    cfg.payer_authorizer = w.payer;
    cfg.receiver = w.payee;
    cfg.receiver_authorizer = w.fac;
    cfg.token = w.c->token();
    cfg.withdraw_delay = 900;
    return cfg;
}

deposit_authorization make_deposit(const world& w, const protocol::channel_config& cfg,
                                   std::uint64_t amount, std::uint64_t salt) {
    deposit_authorization d{u(0), u(*w.clock.t + 600), u(salt), {}};
    auto id = protocol::channel_id(w.c->chain_id(), cfg);
    transfer_authorization a{w.payer, protocol::erc3009_deposit_collector(), u(amount), d.valid_after,
                             d.valid_before, protocol::deposit_nonce(id, d.salt)};
    d.signature = w.sign(a, protocol::authorization_kind::receive);
    return d;
}

protocol::bytes voucher_sig(const world& w, const bytes32& id, std::uint64_t max) {
    return sign_td(payer_account.private_key, protocol::voucher_typed_data(w.c->chain_id(), id, u(max)));
}

}  // namespace

TEST_CASE("batch-settlement: deposit then claim then settle then refund then timed withdrawal") {
    world w;
    REQUIRE(w.c->mint(w.payer, u(100'000)));
    auto cfg = make_config(w);
    auto id = protocol::channel_id(w.c->chain_id(), cfg);
    const auto escrow = protocol::batch_settlement_contract();

    REQUIRE(w.c->deposit(cfg, u(10'000), make_deposit(w, cfg, 10'000, 1)));
    CHECK(w.bal(w.payer) == u(90'000));
    CHECK(w.bal(escrow) == u(10'000));
    auto ch = *w.c->channel(id);
    CHECK(ch.exists);
    CHECK(ch.balance == u(10'000));

    // The same deposit authorization cannot be replayed.
    auto replay = w.c->deposit(cfg, u(10'000), make_deposit(w, cfg, 10'000, 1));
    REQUIRE_FALSE(replay);
    CHECK(replay.error().code == make_error_code(errc::authorization_used));
    CHECK(w.bal(w.payer) == u(90'000));

    // Claims: cumulative, only the increase counts, never above voucher or balance.
    auto s3 = voucher_sig(w, id, 3'000);
    REQUIRE(w.c->claim(w.fac, cfg, u(3'000), s3, u(3'000)));
    CHECK(*w.c->unsettled(w.payee) == u(3'000));
    CHECK(w.c->claim(w.fac, cfg, u(3'000), s3, u(3'001)).error().code == make_error_code(errc::claim_out_of_range));
    auto s20 = voucher_sig(w, id, 20'000);
    CHECK(w.c->claim(w.fac, cfg, u(20'000), s20, u(10'001)).error().code == make_error_code(errc::claim_out_of_range));
    CHECK(w.c->claim(w.payer, cfg, u(3'000), s3, u(3'000)).error().code == make_error_code(errc::not_authorized));
    CHECK(w.c->claim(w.fac, cfg, u(4'000), s3, u(4'000)).error().code == make_error_code(errc::invalid_signature));
    auto s5 = voucher_sig(w, id, 5'000);
    REQUIRE(w.c->claim(w.fac, cfg, u(5'000), s5, u(5'000)));
    CHECK(*w.c->unsettled(w.payee) == u(5'000));
    CHECK(w.c->claim(w.fac, cfg, u(3'000), s3, u(3'000)).error().code == make_error_code(errc::claim_out_of_range));
    CHECK(w.bal(w.payee) == u(0));

    REQUIRE(w.c->settle(w.payee));
    CHECK(w.bal(w.payee) == u(5'000));
    CHECK(w.bal(escrow) == u(5'000));
    CHECK(w.c->settle(w.payee).error().code == make_error_code(errc::nothing_to_settle));

    // Refund signed by the receiverAuthorizer; a wrong nonce or signer moves nothing.
    auto refund_sig = [&](std::uint64_t nonce, std::uint64_t amount, std::string_view pk) {
        return sign_td(pk, protocol::refund_typed_data(w.c->chain_id(), id, u(nonce), u(amount)));
    };
    CHECK(w.c->refund_with_signature(cfg, u(2'000), u(1), refund_sig(1, 2'000, facilitator_account.private_key))
              .error().code == make_error_code(errc::refund_nonce_mismatch));
    CHECK(w.c->refund_with_signature(cfg, u(2'000), u(0), refund_sig(0, 2'000, payee_account.private_key))
              .error().code == make_error_code(errc::invalid_signature));
    CHECK(w.bal(w.payer) == u(90'000));
    REQUIRE(w.c->refund_with_signature(cfg, u(2'000), u(0), refund_sig(0, 2'000, facilitator_account.private_key)));
    CHECK(w.bal(w.payer) == u(92'000));
    ch = *w.c->channel(id);
    CHECK(ch.balance == u(8'000));
    CHECK(ch.total_claimed == u(5'000));
    CHECK(ch.refund_nonce == u(1));

    // Timed withdrawal of the rest (3,000 unclaimed) after withdrawDelay.
    CHECK(w.c->initiate_withdraw(w.payer, cfg, u(3'001)).error().code ==
          make_error_code(errc::withdraw_exceeds_available));
    CHECK(w.c->initiate_withdraw(w.payee, cfg, u(1)).error().code == make_error_code(errc::not_authorized));
    REQUIRE(w.c->initiate_withdraw(w.payer, cfg, u(3'000)));
    // The escrow's views over JSON-RPC, with the official ABI's return shapes.
    auto view = [&](const std::string& selector) {
        nlohmann::json call{{"to", escrow.to_checksum()}, {"data", "0x" + selector + protocol::to_hex(id, false)}};
        nlohmann::json req{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "eth_call"}, {"params", {call, "latest"}}};
        return handle_rpc(*w.c, req).value("result", std::string());
    };
    auto word = [](std::uint64_t v) { return protocol::to_hex(u(v).to_be_bytes(), false); };
    CHECK(view(selector_channels()) == "0x" + word(8'000) + word(5'000));
    CHECK(view(selector_pending_withdrawals()) == "0x" + word(3'000) + word(*w.clock.t));
    CHECK(view(selector_refund_nonce()) == "0x" + word(1));
    *w.clock.t += 899;
    CHECK(w.c->finalize_withdraw(w.payer, cfg).error().code == make_error_code(errc::withdraw_not_ready));
    *w.clock.t += 1;
    REQUIRE(w.c->finalize_withdraw(w.payer, cfg));
    CHECK(w.bal(w.payer) == u(95'000));
    CHECK(w.bal(escrow) == u(0));
    CHECK(*w.c->total_supply() == u(100'000));
    CHECK(w.bal(w.payer).to_decimal() == "95000");
}

TEST_CASE("deposit rejections move nothing") {
    world w;
    REQUIRE(w.c->mint(w.payer, u(1'000)));
    auto cfg = make_config(w);
    auto over = w.c->deposit(cfg, u(2'000), make_deposit(w, cfg, 2'000, 7));
    REQUIRE_FALSE(over);
    CHECK(over.error().code == make_error_code(errc::insufficient_balance));
    auto bad = cfg;
    bad.token = w.payee;
    CHECK(w.c->deposit(bad, u(500), make_deposit(w, bad, 500, 8)).error().code == make_error_code(errc::wrong_token));
    bad = cfg;
    bad.withdraw_delay = 10;
    CHECK(w.c->deposit(bad, u(500), make_deposit(w, bad, 500, 9)).error().code == make_error_code(errc::invalid_request));
    // A deposit signed for a different amount does not verify.
    CHECK(w.c->deposit(cfg, u(600), make_deposit(w, cfg, 500, 10)).error().code == make_error_code(errc::invalid_signature));
    CHECK(w.bal(w.payer) == u(1'000));
    CHECK(w.bal(protocol::batch_settlement_contract()) == u(0));
    CHECK_FALSE(w.c->channel(protocol::channel_id(w.c->chain_id(), cfg))->exists);
}

TEST_CASE("state persists across reopen and blocks follow the clock") {
    purser::test::temp_dir dir;
    fake_clock clock;
    bytes32 h{};
    {
        auto c = *chain::open(dir.path(), clock.fn());
        CHECK(c->block_number() == 1);
        h = *c->mint(addr(payer_account.address), u(777));
        *clock.t += 10 * block_seconds;
        CHECK(c->block_number() == 11);
    }
    auto c = *chain::open(dir.path(), clock.fn());
    CHECK(*c->balance_of(addr(payer_account.address)) == u(777));
    CHECK(*c->total_supply() == u(777));
    CHECK(c->block_number() == 11);
    auto r = *c->get_receipt(h);
    REQUIRE(r.has_value());
    CHECK(r->block_number == 1);
}
