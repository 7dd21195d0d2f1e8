// The forwarded-head fuzz target's seeds and saved crashers, replayed in normal builds.
#include "../../fuzz/heads_target.hpp"

#include <catch2/catch.hpp>

#include "fuzz_replay.hpp"

namespace {

bool run(const std::string& input) {
    return purser::fuzz::heads_target(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

TEST_CASE("fuzz replay: forwarded-head seeds and crashers", "[proxy][fuzz]") {
    CHECK(purser::test::replay_fuzz_inputs("heads", purser::fuzz::heads_target) >= 5);
    // What the parser refuses never reaches the proxy's code; what it accepts holds the invariants.
    CHECK(run(std::string("\x01") + "GET / HTTP/1.1\r\nBad Header\r\n\r\n"));
    CHECK(run(std::string("\x01") + "GET / HTTP/1.1\r\nConnection: a, b\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"));
    CHECK(run(std::string("\x00", 1) + "HTTP/1.1 204 \r\nConnection: close\r\n\r\n"));
}
