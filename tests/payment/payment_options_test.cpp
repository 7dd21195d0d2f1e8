// The payment section, parsed by the payment flow that owns it: what it accepts, and errors that
// name the key in full.
#include "purser/proxy/payment_options.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

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
    CHECK(error_of(json::parse(R"({"iou": {"max_channel": 5}})")).rfind("payment.iou.max_channel:", 0) == 0);
    CHECK(error_of(json::parse(R"({"iou": {"max_channel": "5.x"}})")).rfind("payment.iou.max_channel:", 0) == 0);
    CHECK(error_of(json::parse(R"({"iou": {"max_chanel": "5"}})")).rfind("payment.iou.max_chanel:", 0) == 0);
    CHECK(error_of(json::parse(R"({"iou": 1})")).rfind("payment.iou:", 0) == 0);
    CHECK(error_of(json::parse(R"({"colour": 1})")).rfind("payment.colour: unknown key", 0) == 0);
    CHECK(error_of(json::parse(R"({"max_window_seconds": 0})")).rfind("payment.max_window_seconds:", 0) == 0);
    CHECK(error_of(json::parse(R"({"max_window_seconds": 1.5})")).rfind("payment.max_window_seconds:", 0) == 0);
    CHECK(error_of(json::parse(R"({"networks": "base"})")).rfind("payment.networks:", 0) == 0);
    CHECK(error_of(json::parse(R"({"rpc": {"nowhere": "http://x"}})")).rfind("payment.rpc.nowhere:", 0) == 0);
    CHECK(error_of(json::parse(R"({"prefer": "cheapest"})")).rfind("payment.prefer:", 0) == 0);
    CHECK(error_of(json::parse(R"({"skew_margin_seconds": -1})")).rfind("payment.skew_margin_seconds:", 0) == 0);
    CHECK(error_of(json::parse(R"([1])")).rfind("payment:", 0) == 0);
}
