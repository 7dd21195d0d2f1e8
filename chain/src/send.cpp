#include "purser/chain/send.hpp"

#include <thread>

#include "purser/chain/reads.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/wallet/transaction.hpp"

namespace purser::chain {
namespace {

using nlohmann::json;
using protocol::uint256;

result<std::uint64_t> small(const json& j, std::string_view what) {
    PURSER_TRY(v, hex_quantity(j, what));
    if (!v.fits_bits(64)) return fail(protocol::errc::overflow, std::string(what) + " above 64 bits");
    return v.low64();
}

}  // namespace

result<sent_transaction> send_transaction(
    const json_rpc_client& rpc, wallet::signer& s, const protocol::address& to, const protocol::bytes& data,
    const std::function<result<void>(const protocol::bytes32&)>& before_send, std::chrono::seconds wait) {
    const std::string from = s.address().to_checksum();
    const std::string to_text = to.to_checksum();
    const std::string data_hex = protocol::to_hex(data);
    wallet::eip1559_transaction tx;
    PURSER_TRY(chain_id, rpc_chain_id(rpc));
    tx.chain_id = chain_id;
    PURSER_TRY(nonce_json, rpc.call("eth_getTransactionCount", json::array({from, "pending"})));
    PURSER_TRY(nonce, small(nonce_json, "nonce"));
    tx.nonce = nonce;
    PURSER_TRY(tip_json, rpc.call("eth_maxPriorityFeePerGas", json::array()));
    PURSER_TRY(tip, hex_quantity(tip_json, "maxPriorityFeePerGas"));
    PURSER_TRY(block, rpc.call("eth_getBlockByNumber", json::array({"latest", false})));
    uint256 base_fee;
    if (block.is_object() && block.contains("baseFeePerGas")) {
        PURSER_TRY(b, hex_quantity(block["baseFeePerGas"], "baseFeePerGas"));
        base_fee = b;
    }
    // Twice the base fee plus the tip: stays includable through several full blocks.
    PURSER_TRY(doubled, base_fee.add(base_fee));
    PURSER_TRY(max_fee, doubled.add(tip));
    tx.max_priority_fee_per_gas = tip;
    tx.max_fee_per_gas = max_fee;
    // On a real node eth_estimateGas also runs the call, so a call the contract would refuse
    // fails here, before anything is signed.
    PURSER_TRY(gas_json, rpc.call("eth_estimateGas", json::array({json{{"from", from}, {"to", to_text}, {"data", data_hex}}})));
    PURSER_TRY(gas, small(gas_json, "gas estimate"));
    tx.gas = gas + gas / 5;
    tx.to = to;
    tx.data = data;
    PURSER_TRY(signed_tx, wallet::sign_transaction(s, tx));
    if (before_send) {
        auto recorded = before_send(signed_tx.hash);
        if (!recorded) return tl::unexpected(recorded.error());
    }

    sent_transaction out;
    out.hash = signed_tx.hash;
    PURSER_TRY(sent, rpc.call("eth_sendRawTransaction", json::array({protocol::to_hex(signed_tx.raw)})));
    (void)sent;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    const std::string hash_hex = protocol::to_hex(signed_tx.hash);
    while (std::chrono::steady_clock::now() < deadline) {
        auto receipt = rpc.call("eth_getTransactionReceipt", json::array({hash_hex}));
        if (receipt && receipt->is_object()) {
            out.mined = true;
            out.succeeded = receipt->value("status", "") == "0x1";
            if (!out.succeeded && receipt->contains("logs") && (*receipt)["logs"].is_array()) {
                for (const auto& l : (*receipt)["logs"]) {
                    if (l.is_object() && l.value("event", "") == "Reverted" && l["reason"].is_string()) {
                        out.revert_reason = l["reason"].get<std::string>().substr(0, 200);
                    }
                }
            }
            return out;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return out;
}

}  // namespace purser::chain
