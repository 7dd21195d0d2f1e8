// The payment section, parsed by the payment flow that owns it: what it accepts, and errors that
// name the key in full.
#include "purser/proxy/payment_options.hpp"

#include <catch2/catch.hpp>

#include <utility>
#include <vector>

using purser::proxy::parse_payment_section;
using nlohmann::json;

namespace {

std::string error_of(const json& section) {
    auto r = parse_payment_section(section, purser::protocol::network_registry::builtin());
    REQUIRE_FALSE(r);
    return r.error().detail;
}

}  // namespace

TEST_CASE("payment section: every key parsed", "[payment]") {
    const auto registry = purser::protocol::network_registry::builtin();
    auto r = parse_payment_section(json::parse(R"({
        "max_window_seconds": 120, "networks": ["eip155:8453"], "proof_interval_ms": 250,
        "skew_margin_seconds": 5, "prefer": "exact",
        "iou": {"deposit": "1.00", "max_channel": "5", "max_total": "20"},
        "rpc": {"eip155:8453": "http://127.0.0.1:8545"}})"), registry);
    REQUIRE(r);
    CHECK(r->flow.max_window_seconds == 120);
    CHECK(r->flow.networks == std::set<std::string>{"eip155:8453"});
    CHECK(r->flow.proof_interval_ms == 250);
    CHECK(r->flow.skew_margin_seconds == 5);
    CHECK_FALSE(r->flow.iou.prefer);  // "prefer" applies whatever order the keys come in
    CHECK(r->flow.iou.deposit == "1.00");
    CHECK(r->flow.iou.max_channel == "5");
    CHECK(r->flow.iou.max_total == "20");
    CHECK(r->rpc.at("eip155:8453") == "http://127.0.0.1:8545");
    auto empty = parse_payment_section(json::object(), registry);
    REQUIRE(empty);
    CHECK(empty->flow.max_window_seconds == 300);
    CHECK(empty->rpc.empty());
}

TEST_CASE("payment section: errors name the key in full", "[payment]") {
    // Each bad section, and the key its error must start with.
    const std::vector<std::pair<const char*, const char*>> cases = {
        {R"({"iou": {"max_channel": 5}})", "payment.iou.max_channel:"},
        {R"({"iou": {"max_channel": "5.x"}})", "payment.iou.max_channel:"},
        {R"({"iou": {"max_chanel": "5"}})", "payment.iou.max_chanel: unknown key"},
        {R"({"iou": 1})", "payment.iou:"},
        {R"({"colour": 1})", "payment.colour: unknown key"},
        {R"({"max_window_seconds": 0})", "payment.max_window_seconds:"},
        {R"({"max_window_seconds": 1.5})", "payment.max_window_seconds:"},
        {R"({"networks": "base"})", "payment.networks:"},
        {R"({"rpc": {"nowhere": "http://x"}})", "payment.rpc.nowhere:"},
        {R"({"prefer": "cheapest"})", "payment.prefer:"},
        {R"({"skew_margin_seconds": -1})", "payment.skew_margin_seconds:"},
        {R"([1])", "payment:"},
    };
    for (const auto& [section, key] : cases) {
        INFO(section);
        CHECK(error_of(json::parse(section)).rfind(key, 0) == 0);
    }
}
