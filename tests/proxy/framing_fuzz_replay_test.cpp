// The framing fuzz target's seeds and saved crashers, replayed in normal builds.
#include "../../fuzz/framing_target.hpp"

#include <catch2/catch.hpp>

#include "fuzz_replay.hpp"

TEST_CASE("fuzz replay: framing seeds and crashers", "[proxy][fuzz]") {
    CHECK(purser::test::replay_fuzz_inputs("framing", purser::fuzz::framing_target) >= 6);
    // The target's invariants hold on inputs it must refuse or accept.
    const std::string both = std::string("\x01") + "chunked";
    CHECK(purser::fuzz::framing_target(reinterpret_cast<const std::uint8_t*>(both.data()), both.size()));
    const std::string coded = std::string("\x00", 1) + "gzip;level=1, chunked";
    CHECK(purser::fuzz::framing_target(reinterpret_cast<const std::uint8_t*>(coded.data()), coded.size()));
}
