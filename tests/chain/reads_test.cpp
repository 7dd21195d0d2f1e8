// Chain reads over the testnet's JSON-RPC and simulated chain: the same bytes a real node would
// see, from eth_chainId to EIP-3009's authorizationState before and after a transfer.
#include "purser/chain/reads.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/eip712.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/testnet/accounts.hpp"
#include "purser/testnet/chain.hpp"
#include "purser/testnet/http.hpp"
#include "purser/testnet/rpc.hpp"
#include "test_support.hpp"

using namespace purser;
using protocol::address;
using protocol::uint256;

namespace {

/// A simulated chain served over JSON-RPC on 127.0.0.1, with a client for it.
struct served_chain {
    test::temp_dir dir;
    std::unique_ptr<testnet::chain> c = *testnet::chain::open(dir.path() / "chain");
    std::unique_ptr<testnet::http_server> server =
        *testnet::http_server::start(0, testnet::rpc_http_handler(*c));
    chain::json_rpc_client rpc{*chain::parse_rpc_url(server->base_url())};
};

address addr(std::string_view s) { return *address::parse(s); }

}  // namespace

TEST_CASE("reads: abi_address and hex_quantity", "[chain]") {
    CHECK(chain::abi_address(addr(testnet::payer_account.address)) ==
          std::string(24, '0') + "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    CHECK(*chain::hex_quantity("0x1a", "q") == uint256{26});
    CHECK(*chain::hex_quantity("0x" + std::string(63, '0') + "1", "q") == uint256{1});
    CHECK(chain::hex_quantity(5, "q").error().code == protocol::errc::wrong_type);
    CHECK(chain::hex_quantity("0x", "q").error().code == protocol::errc::invalid_hex);
    CHECK(chain::hex_quantity("12", "q").error().code == protocol::errc::invalid_hex);
    CHECK(chain::hex_quantity("0x1" + std::string(64, '0'), "q").error().code ==
          protocol::errc::overflow);
}

TEST_CASE("reads: rpc_chain_id and balanceOf through eth_call_uint", "[chain]") {
    served_chain w;
    auto id = chain::rpc_chain_id(w.rpc);
    REQUIRE(id);
    CHECK(*id == 31337);

    const auto holder = addr(testnet::poor_account.address);
    REQUIRE(w.c->mint(holder, uint256{1'234'567}));
    const std::string data = "0x70a08231" + chain::abi_address(holder);
    auto balance = chain::eth_call_uint(w.rpc, w.c->token(), data, "balanceOf");
    REQUIRE(balance);
    CHECK(*balance == uint256{1'234'567});

    // No contract at the address: the node answers "0x", which must not read as zero.
    auto nowhere = chain::eth_call_uint(w.rpc, holder, data, "balanceOf");
    REQUIRE_FALSE(nowhere);
    CHECK(nowhere.error().code == protocol::errc::invalid_value);
}

TEST_CASE("reads: authorization_used is false until the nonce is used on chain", "[chain]") {
    served_chain w;
    const auto payer = addr(testnet::payer_account.address);
    REQUIRE(w.c->mint(payer, uint256{1'000'000}));
    protocol::bytes32 nonce{};
    nonce.fill(7);

    auto before = chain::authorization_used(w.rpc, w.c->token(), payer, nonce);
    REQUIRE(before);
    CHECK_FALSE(*before);

    const protocol::transfer_authorization auth{payer, addr(testnet::payee_account.address),
                                                uint256{10}, uint256{0},
                                                uint256{w.c->now() + 600}, nonce};
    const auto digest = protocol::eip712::hash_typed_data(protocol::authorization_typed_data(
        w.c->token_domain(), auth, protocol::authorization_kind::transfer));
    REQUIRE(digest);
    const auto sig = testnet::sign_digest(
        *protocol::bytes32_from_hex(testnet::payer_account.private_key), *digest);
    REQUIRE(sig);
    REQUIRE(w.c->transfer_with_authorization(auth, *sig));

    auto after = chain::authorization_used(w.rpc, w.c->token(), payer, nonce);
    REQUIRE(after);
    CHECK(*after);
}
