#include "purser/testnet/rpc.hpp"

#include "raw_transactions.hpp"

#include "purser/protocol/amount.hpp"
#include "purser/protocol/keccak.hpp"
#include "purser/protocol/x402_types.hpp"

namespace purser::testnet {
namespace {

using nlohmann::json;

std::string quantity(std::uint64_t v) {
    static const char* digits = "0123456789abcdef";
    if (v == 0) return "0x0";
    std::string s;
    while (v != 0) {
        s.insert(s.begin(), digits[v & 0xf]);
        v >>= 4;
    }
    return "0x" + s;
}

json rpc_error(const json& id, int code, const std::string& message) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json rpc_result(const json& id, json value) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(value)}};
}

struct rpc_failure {
    int code;
    std::string message;
};

using call_result = tl::expected<json, rpc_failure>;

tl::unexpected<rpc_failure> bad_params(std::string m) { return tl::unexpected(rpc_failure{-32602, std::move(m)}); }
tl::unexpected<rpc_failure> exec_failed(const error& e) { return tl::unexpected(rpc_failure{-32000, e.message()}); }

std::string word(const uint256& v) { return protocol::to_hex(v.to_be_bytes(), false); }

// ABI argument `index` (32-byte word) of call data after the 4-byte selector.
result<bytes32> arg_word(const protocol::bytes& data, std::size_t index) {
    const std::size_t off = 4 + 32 * index;
    if (data.size() < off + 32) return fail(errc::invalid_request, "call data too short");
    bytes32 w{};
    std::copy(data.begin() + static_cast<std::ptrdiff_t>(off),
              data.begin() + static_cast<std::ptrdiff_t>(off + 32), w.begin());
    return w;
}

result<address> arg_address(const protocol::bytes& data, std::size_t index) {
    PURSER_TRY(w, arg_word(data, index));
    for (std::size_t i = 0; i < 12; ++i) {
        if (w[i] != 0) return fail(errc::invalid_request, "address argument has dirty high bytes");
    }
    std::array<std::uint8_t, 20> raw{};
    std::copy(w.begin() + 12, w.end(), raw.begin());
    return address(raw);
}

call_result eth_call(chain& c, const json& params) {
    if (!params.is_array() || params.empty() || !params[0].is_object()) return bad_params("expected [{to, data}, block]");
    const json& call = params[0];
    if (!call.contains("to") || !call["to"].is_string()) return bad_params("missing 'to'");
    auto to = address::parse(call["to"].get<std::string>());
    if (!to) return bad_params("bad 'to' address");
    std::string data_hex = call.value("data", call.value("input", ""));
    auto data = protocol::from_hex(data_hex);
    if (!data || data->size() < 4) return bad_params("bad call data");
    const std::string sel = protocol::to_hex(protocol::byte_view(data->data(), 4), false);
    if (*to == c.token()) {
        if (sel == selector_balance_of) {
            auto who = arg_address(*data, 0);
            if (!who) return bad_params(who.error().detail);
            auto b = c.balance_of(*who);
            if (!b) return exec_failed(b.error());
            return json("0x" + word(*b));
        }
        if (sel == selector_total_supply) {
            auto s = c.total_supply();
            if (!s) return exec_failed(s.error());
            return json("0x" + word(*s));
        }
        if (sel == selector_authorization_state) {
            auto who = arg_address(*data, 0);
            auto nonce = arg_word(*data, 1);
            if (!who || !nonce) return bad_params("expected (address, bytes32)");
            auto used = c.authorization_state(*who, *nonce);
            if (!used) return exec_failed(used.error());
            return json("0x" + word(uint256{*used ? 1U : 0U}));
        }
        if (sel == "313ce567") return json("0x" + word(uint256{6}));  // decimals()
        return tl::unexpected(rpc_failure{-32000, "execution reverted: unknown token function 0x" + sel});
    }
    if (*to == protocol::batch_settlement_contract()) {
        // The views of the official ABI (@x402/evm batch-settlement/abi.ts), one bytes32 argument each.
        const bool known = sel == selector_channels() || sel == selector_pending_withdrawals() ||
                           sel == selector_refund_nonce();
        if (!known) return tl::unexpected(rpc_failure{-32000, "execution reverted: unknown escrow function 0x" + sel});
        auto id = arg_word(*data, 0);
        if (!id) return bad_params("expected (bytes32)");
        auto ch = c.channel(*id);
        if (!ch) return exec_failed(ch.error());
        if (sel == selector_channels()) return json("0x" + word(ch->balance) + word(ch->total_claimed));
        if (sel == selector_pending_withdrawals()) {
            return json("0x" + word(ch->withdraw_amount) + word(uint256{ch->withdraw_requested_at}));
        }
        return json("0x" + word(ch->refund_nonce));
    }
    // Like a call to an address without code: empty return data.
    return json("0x");
}

call_result get_receipt(chain& c, const json& params) {
    if (!params.is_array() || params.empty() || !params[0].is_string()) return bad_params("expected [txHash]");
    auto h = protocol::bytes32_from_hex(params[0].get<std::string>());
    if (!h) return bad_params("bad transaction hash");
    auto r = c.get_receipt(*h);
    if (!r) return exec_failed(r.error());
    if (!r->has_value()) return json(nullptr);
    const receipt& rc = **r;
    return json{{"transactionHash", protocol::to_hex(rc.hash)},
                {"blockNumber", quantity(rc.block_number)},
                {"status", rc.status ? "0x1" : "0x0"},
                {"to", c.token().to_checksum()},
                {"type", rc.kind},
                {"logs", rc.logs}};
}

call_result mint(chain& c, const json& params) {
    if (!params.is_array() || params.size() != 2 || !params[0].is_string() || !params[1].is_string()) {
        return bad_params("expected [address, atomicAmountDecimalString]");
    }
    auto to = address::parse(params[0].get<std::string>());
    if (!to) return bad_params("bad address");
    auto amount = uint256::from_decimal(params[1].get<std::string>());
    if (!amount) return bad_params("amount must be a decimal string of atomic units");
    auto h = c.mint(*to, *amount);
    if (!h) return exec_failed(h.error());
    return json(protocol::to_hex(*h));
}

// The calls a wallet makes to send its own transaction: fees, gas, its nonce, the raw bytes.
// This chain charges no gas, so fees are zero and the estimate is a fixed, generous limit.
constexpr std::uint64_t gas_estimate = 300000;

call_result send_raw_transaction(chain& c, const json& params) {
    if (!params.is_array() || params.size() != 1 || !params[0].is_string()) return bad_params("expected [rawTransactionHex]");
    auto raw = protocol::from_hex(params[0].get<std::string>());
    if (!raw) return bad_params("raw transaction is not hex");
    auto rc = detail::apply_raw_transaction(c, *raw);
    if (!rc) return exec_failed(rc.error());
    return json(protocol::to_hex(rc->hash));
}

call_result transaction_count(chain& c, const json& params) {
    if (!params.is_array() || params.empty() || !params[0].is_string()) return bad_params("expected [address, block]");
    auto who = address::parse(params[0].get<std::string>());
    if (!who) return bad_params("bad address");
    auto n = c.transaction_count(*who);
    if (!n) return exec_failed(n.error());
    return json(quantity(*n));
}

call_result latest_block(chain& c) {
    return json{{"number", quantity(c.block_number())}, {"timestamp", quantity(c.now())},
                {"baseFeePerGas", "0x0"}};
}

// Anvil's evm_increaseTime under the testnet's own prefix: moves the clock so a test can pass a
// withdrawal delay.
call_result increase_time(chain& c, const json& params) {
    if (!params.is_array() || params.size() != 1 || !params[0].is_number_unsigned()) return bad_params("expected [seconds]");
    auto now = c.increase_time(params[0].get<std::uint64_t>());
    if (!now) return exec_failed(now.error());
    return json(quantity(*now));
}

json handle_one(chain& c, const json& req) {
    if (!req.is_object()) return rpc_error(nullptr, -32600, "request must be an object");
    json id = req.contains("id") ? req["id"] : json(nullptr);
    if (!req.contains("method") || !req["method"].is_string()) return rpc_error(id, -32600, "missing method");
    const std::string method = req["method"];
    const json params = req.value("params", json::array());
    call_result r = tl::unexpected(rpc_failure{-32601, "method not found: " + method});
    if (method == "eth_chainId") r = json(quantity(c.chain_id()));
    else if (method == "net_version") r = json(std::to_string(c.chain_id()));
    else if (method == "eth_blockNumber") r = json(quantity(c.block_number()));
    else if (method == "eth_call") r = eth_call(c, params);
    else if (method == "eth_getTransactionReceipt") r = get_receipt(c, params);
    else if (method == "testnet_mint") r = mint(c, params);
    else if (method == "eth_sendRawTransaction") r = send_raw_transaction(c, params);
    else if (method == "eth_getTransactionCount") r = transaction_count(c, params);
    else if (method == "eth_estimateGas") r = json(quantity(gas_estimate));
    else if (method == "eth_maxPriorityFeePerGas" || method == "eth_gasPrice") r = json("0x0");
    else if (method == "eth_getBlockByNumber") r = latest_block(c);
    else if (method == "testnet_increaseTime") r = increase_time(c, params);
    if (!r) return rpc_error(id, r.error().code, r.error().message);
    return rpc_result(id, std::move(*r));
}

}  // namespace

namespace {
std::string selector_of(std::string_view signature) {
    auto h = protocol::keccak256(signature);
    return protocol::to_hex(protocol::byte_view(h.data(), 4), false);
}
}  // namespace

std::string selector_channels() { return selector_of("channels(bytes32)"); }
std::string selector_pending_withdrawals() { return selector_of("pendingWithdrawals(bytes32)"); }
std::string selector_refund_nonce() { return selector_of("refundNonce(bytes32)"); }

json handle_rpc(chain& c, const json& request) {
    if (request.is_array()) {
        if (request.empty()) return rpc_error(nullptr, -32600, "empty batch");
        json out = json::array();
        for (const auto& r : request) out.push_back(handle_one(c, r));
        return out;
    }
    return handle_one(c, request);
}

http_handler rpc_http_handler(chain& c) {
    return [&c](const http_request& req) -> http_response {
        if (req.method != "POST") {
            return {405, {{"Content-Type", "text/plain"}, {"Allow", "POST"}}, "JSON-RPC: POST only\n", {}};
        }
        auto body = json::parse(req.body, nullptr, false);
        json out = body.is_discarded() ? rpc_error(nullptr, -32700, "parse error") : handle_rpc(c, body);
        return {200, {{"Content-Type", "application/json"}}, out.dump(), {}};
    };
}

}  // namespace purser::testnet
