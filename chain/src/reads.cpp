#include "purser/chain/reads.hpp"

#include "purser/protocol/keccak.hpp"

#include "purser/protocol/errc.hpp"

namespace purser::chain {

using nlohmann::json;
using protocol::uint256;

std::string abi_address(const protocol::address& a) {
    return std::string(24, '0') + a.to_lower().substr(2);
}

result<uint256> hex_quantity(const json& j, std::string_view what) {
    if (!j.is_string()) return fail(protocol::errc::wrong_type, std::string(what) + ": not a hex string");
    std::string s = j.get<std::string>();
    if (s.rfind("0x", 0) != 0 || s.size() < 3) {
        return fail(protocol::errc::invalid_hex,
                    std::string(what) + ": expected 0x-hex, got " + s.substr(0, 80));
    }
    s = s.substr(2);
    if (s.size() % 2 == 1) s = "0" + s;
    auto bytes = protocol::from_hex(s);
    if (!bytes) return fail(protocol::errc::invalid_hex, std::string(what) + ": not hex");
    auto v = uint256::from_be_bytes(*bytes);
    if (!v) return fail(protocol::errc::overflow, std::string(what) + ": more than 256 bits");
    return *v;
}

result<uint256> eth_call_uint(const json_rpc_client& rpc, const protocol::address& to,
                              const std::string& data, std::string_view what) {
    PURSER_TRY(res, rpc.call("eth_call", json::array({json{{"to", to.to_checksum()}, {"data", data}},
                                                      "latest"})));
    if (res.is_string() && res.get<std::string>() == "0x") {
        return fail(protocol::errc::invalid_value, std::string(what) + ": empty reply (is " +
                                                       to.to_checksum() + " a token contract?)");
    }
    return hex_quantity(res, what);
}

result<std::uint64_t> rpc_chain_id(const json_rpc_client& rpc) {
    PURSER_TRY(chain_hex, rpc.call("eth_chainId", json::array()));
    PURSER_TRY(chain, hex_quantity(chain_hex, "eth_chainId"));
    if (!chain.fits_bits(64)) return fail(protocol::errc::overflow, "eth_chainId: too large");
    return chain.low64();
}

result<bool> authorization_used(const json_rpc_client& rpc, const protocol::address& token,
                                const protocol::address& authorizer, const protocol::bytes32& nonce) {
    // authorizationState(address,bytes32): selector 0xe94a0102, then the two words.
    const std::string data =
        "0xe94a0102" + abi_address(authorizer) + protocol::to_hex(nonce, false);
    PURSER_TRY(state, eth_call_uint(rpc, token, data, "authorizationState"));
    if (state > uint256{1}) {
        return fail(protocol::errc::invalid_value, "authorizationState: not a bool");
    }
    return !state.is_zero();
}

namespace {

/// An escrow view taking one bytes32 (`function` is its signature) whose answer is two words.
result<std::pair<uint256, uint256>> two_word_view(const json_rpc_client& rpc, const protocol::address& escrow,
                                                  std::string_view function, const protocol::bytes32& channel_id) {
    // The selector is the first 4 bytes of keccak256 of the signature.
    const auto selector = protocol::keccak256(function);
    const std::string data = protocol::to_hex(protocol::byte_view(selector.data(), 4)) +
                             protocol::to_hex(channel_id, false);
    PURSER_TRY(res, rpc.call("eth_call", json::array({json{{"to", escrow.to_checksum()}, {"data", data}},
                                                      "latest"})));
    const std::string name(function.substr(0, function.find('(')));
    if (!res.is_string()) return fail(protocol::errc::wrong_type, name + ": not a hex string");
    auto raw = protocol::from_hex(res.get<std::string>());
    if (!raw || raw->size() < 64) {
        return fail(protocol::errc::invalid_value, name + ": expected two words, got " +
                                                       res.get<std::string>().substr(0, 80));
    }
    return std::pair{*uint256::from_be_bytes(protocol::byte_view(raw->data(), 32)),
                     *uint256::from_be_bytes(protocol::byte_view(raw->data() + 32, 32))};
}

}  // namespace

result<escrow_channel> read_escrow_channel(const json_rpc_client& rpc,
                                          const protocol::address& escrow,
                                          const protocol::bytes32& channel_id) {
    PURSER_TRY(words, two_word_view(rpc, escrow, "channels(bytes32)", channel_id));
    return escrow_channel{words.first, words.second};
}

result<pending_withdrawal> read_pending_withdrawal(const json_rpc_client& rpc,
                                                   const protocol::address& escrow,
                                                   const protocol::bytes32& channel_id) {
    PURSER_TRY(words, two_word_view(rpc, escrow, "pendingWithdrawals(bytes32)", channel_id));
    if (!words.second.fits_bits(64)) return fail(protocol::errc::overflow, "pendingWithdrawals: time above 64 bits");
    return pending_withdrawal{words.first, words.second.low64()};
}

result<std::uint64_t> latest_block_time(const json_rpc_client& rpc) {
    PURSER_TRY(block, rpc.call("eth_getBlockByNumber", json::array({"latest", false})));
    if (!block.is_object() || !block.contains("timestamp")) {
        return fail(protocol::errc::missing_field, "eth_getBlockByNumber: no timestamp");
    }
    PURSER_TRY(t, hex_quantity(block["timestamp"], "timestamp"));
    if (!t.fits_bits(64)) return fail(protocol::errc::overflow, "timestamp above 64 bits");
    return t.low64();
}

}  // namespace purser::chain
