// The hostile merchant's lies (issue 10). Each one comes after a real settlement through the
// facilitator, except payto-switch, so tests can check that what moved on chain and what the
// merchant claims disagree in exactly the way the route's name says.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "merchant_detail.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/testnet/accounts.hpp"
#include "purser/testnet/merchant.hpp"

namespace purser::testnet {

using nlohmann::json;
using protocol::ojson;

namespace {

struct lie_name {
    merchant_lie lie;
    std::string_view name;
};

constexpr lie_name lie_names[] = {
    {merchant_lie::none, "none"},
    {merchant_lie::under_report, "under-report"},
    {merchant_lie::settle_then_500, "settle-then-500"},
    {merchant_lie::settle_then_drop, "settle-then-drop"},
    {merchant_lie::settle_then_stall, "settle-then-stall"},
    {merchant_lie::crlf_receipt, "crlf-receipt"},
    {merchant_lie::escape_receipt, "escape-receipt"},
    {merchant_lie::forged_headers, "forged-headers"},
    {merchant_lie::many_offers, "many-offers"},
    {merchant_lie::second_402, "second-402"},
    {merchant_lie::payto_switch, "payto-switch"},
    {merchant_lie::overcharge_receipt, "overcharge-receipt"},
    {merchant_lie::iou_overcharge, "iou-overcharge"},
    {merchant_lie::iou_stale_state, "iou-stale-state"},
    {merchant_lie::iou_refund_overstated, "iou-refund-overstated"},
    {merchant_lie::iou_refund_understated, "iou-refund-understated"},
};

// An address nobody deployed anything at: 0x...bad0NN, lowercase (valid without a checksum).
std::string unknown_address(unsigned n) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string a = "0x" + std::string(34, '0') + "bad0";
    a += hex[(n >> 4) & 0xf];
    a += hex[n & 0xf];
    return a;
}

ojson bait_offer(const merchant_config& c, std::string scheme, std::string network,
                 std::string asset) {
    ojson o;
    o["scheme"] = std::move(scheme);
    o["network"] = std::move(network);
    o["amount"] = "1";
    o["asset"] = std::move(asset);
    o["payTo"] = c.pay_to.to_checksum();
    o["maxTimeoutSeconds"] = c.max_timeout_seconds;
    o["extra"] = ojson{{"name", "USDC"}, {"version", "2"}};
    return o;
}

// Waits up to `ms`, or until the server stops: a bare sleep would hold http_server::stop().
void stall(std::uint64_t ms, const std::stop_token& stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    (void)cv.wait_for(lock, stop, std::chrono::milliseconds(ms), [] { return false; });
}

}  // namespace

std::string_view to_string(merchant_lie l) {
    for (const auto& e : lie_names) {
        if (e.lie == l) return e.name;
    }
    return "unknown";
}

std::optional<merchant_lie> merchant_lie_from_string(std::string_view name) {
    for (const auto& e : lie_names) {
        if (e.name == name) return e.lie;
    }
    return std::nullopt;
}

namespace detail {

ojson unpayable_offers(const merchant_config& c) {
    ojson all = ojson::array();
    const std::string net(protocol::testnet_caip2);
    const std::string usdc = c.asset.to_checksum();
    // 10: the right network and scheme, tokens that do not exist.
    for (unsigned i = 0; i < 10; ++i)
        all.push_back(bait_offer(c, "exact", net, unknown_address(i)));
    // 8: the right token address on chains nobody configured.
    for (const char* n : {"eip155:999999", "eip155:0", "eip155:1", "eip155:8453", "eip155:84532",
                          "eip155:18446744073709551616", "eip155:-1", "eip155:31337 "}) {
        all.push_back(bait_offer(c, "exact", n, usdc));
    }
    // 1: a 1,500-character network name (parses as eip155, overflows any chain id).
    all.push_back(bait_offer(c, "exact", "eip155:" + std::string(1493, '9'), usdc));
    // 1: a scheme nobody implements.
    all.push_back(bait_offer(c, "hostile-scheme", net, usdc));
    // 1: large junk in `extra`, on an unknown token.
    auto junk = bait_offer(c, "exact", net, unknown_address(10));
    junk["extra"]["junk"] = std::string(4096, 'J');
    junk["extra"]["nested"] = ojson::array();
    for (int i = 0; i < 64; ++i)
        junk["extra"]["nested"].push_back(ojson{{"k", i}, {"v", std::string(16, 'n')}});
    all.push_back(std::move(junk));
    // 8: networks outside EVM, with assets that are not EVM addresses.
    for (const char* n :
         {"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
          "bip122:000000000019d6689c085ae165831e93", "cosmos:cosmoshub-4",
          "polkadot:91b171bb158e2d38", "hostile:net", "x:y", "purser-testnet:1"}) {
        all.push_back(bait_offer(c, "exact", n, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"));
    }
    return all;
}

std::string long_description() {
    std::string d = "A 5,000-character description. ";
    while (d.size() < 5000) d += "All work and no play makes a long description. ";
    d.resize(5000);
    return d;
}

void add_forged_purser_headers(http_response& r) {
    r.headers.emplace_back("Purser-Paid", "0 USDC forged");
    r.headers.emplace_back("Purser-Decision", "declined; reason=forged");
    r.headers.emplace_back("Purser-Remaining", "999 USD");
}

}  // namespace detail

http_response merchant::switched_terms(const http_request& req, const merchant_route& route) const {
    // An obviously fake address: whatever a client signs for it, this route never settles.
    static const std::string fake_pay_to = "0x000000000000000000000000000000000000dEaD";
    ojson accepts = requirements(req, route);
    for (auto& o : accepts) o["payTo"] = fake_pay_to;
    return challenge(req, route, "No matching payment requirements", accepts);
}

http_response merchant::lie_after_settle(const http_request& req, const merchant_route& route,
                                         http_response response, json receipt) const {
    switch (route.lie) {
        case merchant_lie::settle_then_500:
            return {
                500, {{"Content-Type", "application/json"}}, R"({"error":"internal error"})", {}};
        case merchant_lie::settle_then_drop: {
            http_response dropped;
            dropped.drop_connection = true;
            return dropped;
        }
        case merchant_lie::settle_then_stall:
            stall(route.stall_ms, req.stop);
            if (req.stop.stop_requested()) {
                http_response dropped;
                dropped.drop_connection = true;
                return dropped;
            }
            break;
        case merchant_lie::second_402: {
            ojson accepts = requirements(req, route);
            for (auto& o : accepts)
                o["amount"] = route.price->mul(protocol::uint256{2})->to_decimal();
            return challenge(req, route, "Payment required", accepts);
        }
        case merchant_lie::under_report:
            receipt["amount"] = "1";
            break;
        case merchant_lie::overcharge_receipt:
            receipt["amount"] = "100000000";
            receipt["payer"] = std::string(poor_account.address);
            break;
        case merchant_lie::crlf_receipt:
            receipt["transaction"] =
                "0xabc\r\nPurser-Paid: 0 USDC forged\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
                "6\r\n\r\nforged";
            receipt["network"] = receipt.value("network", "") + "\r\nPurser-Decision: approved\r\n";
            receipt["payer"] = receipt.value("payer", "") + "\r\nSet-Cookie: forged=1\r\n";
            break;
        case merchant_lie::escape_receipt:
            receipt["transaction"] = "\x1b[2J\x1b[31m" + receipt.value("transaction", "") + "\x07";
            receipt["network"] = "\x1b[2J\x1b[31m" + receipt.value("network", "") + "\x07";
            receipt["errorReason"] =
                "\x1b]0;pwned\x07\x1b[2J\x1b[31mall fine, nothing was paid\x07";
            break;
        case merchant_lie::forged_headers:
            detail::add_forged_purser_headers(response);
            break;
        case merchant_lie::many_offers:
        case merchant_lie::payto_switch:
        case merchant_lie::iou_overcharge:  // batch-settlement lies: merchant_batch.cpp
        case merchant_lie::iou_stale_state:
        case merchant_lie::iou_refund_overstated:
        case merchant_lie::iou_refund_understated:
        case merchant_lie::none:
            break;
    }
    response.headers.emplace_back("PAYMENT-RESPONSE", detail::encode_header(receipt.dump()));
    response.headers.emplace_back("Access-Control-Expose-Headers", "PAYMENT-RESPONSE");
    return response;
}

}  // namespace purser::testnet
