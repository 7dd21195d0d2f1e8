// Helpers for tests that start the whole testnet in-process and pay it with the wallet library.
#pragma once

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "purser/protocol/messages.hpp"
#include "purser/testnet/accounts.hpp"
#include "purser/testnet/http.hpp"
#include "purser/testnet/world.hpp"
#include "purser/wallet/exact.hpp"
#include "purser/wallet/signer.hpp"
#include "test_support.hpp"

namespace purser::test {

inline std::unique_ptr<testnet::world> start_world(const std::filesystem::path& dir) {
    testnet::world_options o;
    o.dir = dir;
    o.keystore_scrypt_n = 1024;
    auto w = testnet::world::start(o);
    if (!w) FAIL("testnet did not start: " << w.error().message());
    return std::move(*w);
}

inline std::unique_ptr<wallet::local_signer> signer_for(std::string_view key_hex) {
    auto k = wallet::private_key::from_hex(key_hex);
    REQUIRE(k);
    return std::make_unique<wallet::local_signer>(std::move(*k));
}

inline protocol::uint256 balance(testnet::world& w, std::string_view addr) {
    return *w.chain().balance_of(*protocol::address::parse(addr));
}

inline testnet::http_reply call(const std::string& method, const std::string& url, testnet::world& w,
                                std::vector<std::pair<std::string, std::string>> headers = {},
                                std::string body = {}) {
    testnet::http_call_options o;
    o.headers = std::move(headers);
    o.body = std::move(body);
    o.ca_file = w.ca_file();
    auto r = testnet::http_call(method, url, o);
    if (!r) FAIL("HTTP " << method << " " << url << ": " << r.error().message());
    return *r;
}

/// The 402 terms of `url` (v1 body or v2 header).
inline protocol::payment_required terms(const testnet::http_reply& r) {
    REQUIRE(r.status == 402);
    std::optional<std::string_view> h;
    const std::string pr = r.header("payment-required");
    if (!pr.empty()) h = pr;
    auto req = protocol::read_payment_required(h, r.body);
    if (!req) FAIL("bad 402: " << req.error().message());
    return *req;
}

inline const protocol::payment_requirements& offer_for(const protocol::payment_required& pr,
                                                       const std::string& scheme) {
    for (const auto& o : pr.accepts) {
        if (o.scheme == scheme) return o;
    }
    FAIL("no " << scheme << " offer");
    throw std::logic_error("unreachable");
}

/// The error string of a 402: v2 PAYMENT-REQUIRED error, v1 body error.
inline std::string error_of(const testnet::http_reply& r) { return terms(r).error; }

}  // namespace purser::test
