// The exchange's phases (proxy/src/exchange.hpp): the session asserts every step against
// exchange_can_enter, so these properties of the table hold for every request it serves.
#include "exchange.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <vector>

using purser::proxy::exchange_can_enter;
using purser::proxy::exchange_phase;

namespace {

const std::vector<exchange_phase> all = {
    exchange_phase::reading_request,   exchange_phase::forwarding,
    exchange_phase::awaiting_decision, exchange_phase::paying,
    exchange_phase::streaming_response, exchange_phase::done,
};

/// Phases reachable from reading_request without passing through `avoid`.
std::set<exchange_phase> reachable_without(exchange_phase avoid) {
    std::set<exchange_phase> seen{exchange_phase::reading_request};
    std::vector<exchange_phase> todo{exchange_phase::reading_request};
    while (!todo.empty()) {
        const auto from = todo.back();
        todo.pop_back();
        for (auto to : all) {
            if (to == avoid || !exchange_can_enter(from, to) || seen.count(to)) continue;
            seen.insert(to);
            todo.push_back(to);
        }
    }
    return seen;
}

}  // namespace

TEST_CASE("a signature can leave only after the hook decided on a 402", "[proxy][exchange]") {
    // paying is reached only through awaiting_decision, and awaiting_decision only by forwarding
    // first: no request is paid that the origin did not answer 402.
    CHECK(reachable_without(exchange_phase::awaiting_decision).count(exchange_phase::paying) == 0);
    CHECK(reachable_without(exchange_phase::forwarding).count(exchange_phase::awaiting_decision) == 0);
    CHECK(reachable_without(exchange_phase::forwarding).count(exchange_phase::paying) == 0);
    // Every phase can still end (an abort), and the request in any phase can get its answer.
    CHECK(reachable_without(exchange_phase::paying).count(exchange_phase::done) == 1);
}

TEST_CASE("an answer ends the exchange and nothing follows done", "[proxy][exchange]") {
    for (auto to : all) {
        CHECK_FALSE(exchange_can_enter(exchange_phase::done, to));
        // Once the agent's answer started, no new request to the origin and no new payment.
        CHECK(exchange_can_enter(exchange_phase::streaming_response, to) ==
              (to == exchange_phase::done));
    }
    for (auto from : all) CHECK(exchange_can_enter(from, exchange_phase::done) == (from != exchange_phase::done));
    // A paid exchange never goes back to an unpaid one, nor to the hook.
    CHECK_FALSE(exchange_can_enter(exchange_phase::paying, exchange_phase::forwarding));
    CHECK_FALSE(exchange_can_enter(exchange_phase::paying, exchange_phase::awaiting_decision));
    // The one corrective retry and the stale-pool retry stay in their phase.
    CHECK(exchange_can_enter(exchange_phase::paying, exchange_phase::paying));
    CHECK(exchange_can_enter(exchange_phase::forwarding, exchange_phase::forwarding));
    CHECK_FALSE(exchange_can_enter(exchange_phase::reading_request, exchange_phase::paying));
}
