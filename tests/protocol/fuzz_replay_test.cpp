// Replays every fuzz seed and every saved crasher (fuzz/corpus/<target>/, fuzz/crashers/<target>/)
// through the same code the libFuzzer targets run, so a fixed crash stays fixed in normal builds.
#include "../../fuzz/fuzz_targets.hpp"

#include <filesystem>
#include <functional>

#include <catch2/catch.hpp>

#include "fuzz_replay.hpp"

namespace {

std::size_t replay(const std::string& target,
                   const std::function<bool(const std::uint8_t*, std::size_t)>& fn) {
    return purser::test::replay_fuzz_inputs(target, fn);
}

}  // namespace

TEST_CASE("fuzz replay: payment_required seeds and crashers", "[protocol][fuzz]") {
    CHECK(replay("payment_required", purser::fuzz::payment_required_target) >= 5);
}

TEST_CASE("fuzz replay: payment_header seeds and crashers", "[protocol][fuzz]") {
    CHECK(replay("payment_header", purser::fuzz::payment_header_target) >= 5);
}

TEST_CASE("fuzz replay: settle_response seeds and crashers", "[protocol][fuzz]") {
    CHECK(replay("settle_response", purser::fuzz::settle_response_target) >= 5);
}

TEST_CASE("fuzz targets accept the seeds as valid messages", "[protocol][fuzz]") {
    // The seeds must reach the deep paths: at least one parses fully for each target.
    using namespace purser::protocol;
    const auto v = purser::test::load_vectors("official_client.json");
    const std::string x_payment = v["cases"][1]["headers"]["X-PAYMENT"];
    CHECK(decode_payment_header(x_payment));
    const std::string with_marker = "!" + v["cases"][0]["payment_required"].dump() + "\n";
    CHECK(purser::fuzz::payment_required_target(
        reinterpret_cast<const std::uint8_t*>(with_marker.data()), with_marker.size()));
}

TEST_CASE("fuzz replay: url seeds and crashers", "[protocol][fuzz]") {
    CHECK(replay("url", purser::fuzz::url_target) >= 5);
}

TEST_CASE("fuzz replay: chain_bytes seeds and crashers", "[protocol][fuzz]") {
    CHECK(replay("chain_bytes", purser::fuzz::chain_bytes_target) >= 8);
}
