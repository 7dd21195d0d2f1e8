#include "raw_transactions.hpp"

#include "purser/protocol/escrow_calls.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/testnet/errc.hpp"
#include "purser/wallet/transaction.hpp"

namespace purser::testnet::detail {
namespace {

namespace escrow = protocol::escrow;

result<bytes32> run_escrow_call(chain& c, const address& sender, const escrow::call& call) {
    switch (call.kind) {
        case escrow::call_kind::initiate_withdraw:
            return c.initiate_withdraw(sender, call.config, call.amount);
        case escrow::call_kind::finalize_withdraw:
            return c.finalize_withdraw(sender, call.config);
        case escrow::call_kind::deposit: {
            if (call.collector != protocol::erc3009_deposit_collector()) {
                return fail(errc::invalid_request, "only the ERC-3009 deposit collector is supported");
            }
            PURSER_TRY(data, escrow::decode_collector_data(call.collector_data));
            deposit_authorization auth{data.valid_after, data.valid_before, data.salt, data.signature};
            return c.deposit(call.config, call.amount, auth);
        }
    }
    return fail(errc::invalid_request, "unknown escrow call");
}

}  // namespace

result<receipt> apply_raw_transaction(chain& c, protocol::byte_view raw) {
    auto read = wallet::read_transaction(raw);
    if (!read) return fail(errc::invalid_request, read.error().message());
    const auto& tx = read->tx;
    if (tx.chain_id != c.chain_id()) {
        return fail(errc::invalid_request, "transaction for chain " + std::to_string(tx.chain_id));
    }
    if (!tx.value.is_zero()) return fail(errc::invalid_request, "this chain moves no ether");
    if (tx.to != protocol::batch_settlement_contract()) {
        return fail(errc::invalid_request, "only transactions to the batch-settlement escrow are supported");
    }
    // Call data the contract's ABI decoder would refuse reverts, like any failing call.
    auto call = escrow::decode_call(tx.data);
    return c.run_transaction(read->hash, read->sender, tx.nonce, [&]() -> result<bytes32> {
        if (!call) return tl::unexpected(call.error());
        return run_escrow_call(c, read->sender, *call);
    });
}

}  // namespace purser::testnet::detail
