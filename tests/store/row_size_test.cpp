// What one ledger row costs the store, indexes and LMDB's page overhead included: under 1 KiB
// for a paid row and for a declined one, however long the request's URL (issue 18's target).
// The figures are printed so the README's performance section can quote them.
#include <catch2/catch.hpp>

#include "purser/store/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::manual_clock;
using purser::test::usdc_request;

namespace {

constexpr int rows = 2000;

std::uint64_t held_bytes(store& s) {
    const auto st = s.stats().value();
    return st.used_bytes - st.free_bytes;
}

reserve_request long_request(const std::string& agent, int i) {
    auto q = usdc_request(agent, 1000);
    q.url = "https://api.example.com/v1/" + std::string(15'000, 'p') + "/" + std::to_string(i);
    q.nonce = "0x" + std::string(63, '1') + std::to_string(i % 10);
    q.payer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    return q;
}

}  // namespace

TEST_CASE("a paid row and a declined row each cost the store under 1 KiB, whatever the URL",
          "[store][size]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    open_options o;
    o.decline_fold_ms = 0;  // every decline its own row: the worst case
    auto s = purser::test::open_store(dir.path(), clock, o);
    REQUIRE(s->add_agent("payer", {}));
    REQUIRE(s->add_agent("frozen", {}));
    REQUIRE(s->set_frozen("frozen", true));
    settlement facts;
    facts.tx_hash = "0x" + std::string(64, 'e');

    const auto before_paid = held_bytes(*s);
    for (int i = 0; i < rows; ++i) {
        auto d = s->reserve(long_request("payer", i)).value();
        REQUIRE(d.approved);
        REQUIRE(s->commit(d.reservation_id, facts));
        clock.advance_ms(7);
    }
    const double per_paid = static_cast<double>(held_bytes(*s) - before_paid) / rows;

    const auto before_declined = held_bytes(*s);
    for (int i = 0; i < rows; ++i) {
        REQUIRE(s->reserve(long_request("frozen", i)).value().why == reason::agent_frozen);
        clock.advance_ms(7);
    }
    const double per_declined = static_cast<double>(held_bytes(*s) - before_declined) / rows;
    WARN("ledger bytes per row with a 15 KB URL: paid " << per_paid << ", declined " << per_declined);
    CHECK(per_paid < 1024);
    CHECK(per_declined < 1024);
}
