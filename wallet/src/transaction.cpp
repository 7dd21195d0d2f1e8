#include "purser/wallet/transaction.hpp"

#include <array>

#include "purser/protocol/errc.hpp"
#include "purser/protocol/keccak.hpp"
#include "purser/protocol/rlp.hpp"

namespace purser::wallet {
namespace {

namespace rlp = protocol::rlp;
using protocol::bytes;
using protocol::uint256;

constexpr std::uint8_t type_eip1559 = 0x02;
constexpr std::size_t unsigned_fields = 9;  // ... data, accessList
constexpr std::size_t signed_fields = 12;   // ... yParity, r, s

std::vector<bytes> unsigned_items(const eip1559_transaction& tx) {
    return {rlp::encode_uint(uint256{tx.chain_id}),
            rlp::encode_uint(uint256{tx.nonce}),
            rlp::encode_uint(tx.max_priority_fee_per_gas),
            rlp::encode_uint(tx.max_fee_per_gas),
            rlp::encode_uint(uint256{tx.gas}),
            rlp::encode_string(tx.to.raw()),
            rlp::encode_uint(tx.value),
            rlp::encode_string(tx.data),
            rlp::encode_list({})};
}

bytes typed(const bytes& payload) {
    // Sized first: GCC 12 at -O2 sees a false array-bounds overflow in inserting after `bytes{b}`.
    bytes out;
    out.reserve(payload.size() + 1);
    out.push_back(type_eip1559);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

tl::unexpected<error> bad(const std::string& what) {
    return fail(protocol::errc::invalid_value, "transaction: " + what);
}

result<std::uint64_t> small_uint(const rlp::item& it, const char* what) {
    PURSER_TRY(v, rlp::to_uint(it));
    if (!v.fits_bits(64)) return bad(std::string(what) + " above 64 bits");
    return v.low64();
}

}  // namespace

protocol::bytes32 signing_hash(const eip1559_transaction& tx) {
    return protocol::keccak256(typed(rlp::encode_list(unsigned_items(tx))));
}

result<signed_transaction> sign_transaction(signer& s, const eip1559_transaction& tx) {
    PURSER_TRY(sig, s.sign_digest(signing_hash(tx)));
    const auto& b = sig.bytes();
    auto items = unsigned_items(tx);
    items.push_back(rlp::encode_uint(uint256{static_cast<std::uint64_t>(sig.v() - 27)}));
    // r and s are integers in RLP: leading zero bytes are dropped.
    PURSER_TRY(r, uint256::from_be_bytes(protocol::byte_view(b.data(), 32)));
    PURSER_TRY(s_value, uint256::from_be_bytes(protocol::byte_view(b.data() + 32, 32)));
    items.push_back(rlp::encode_uint(r));
    items.push_back(rlp::encode_uint(s_value));
    signed_transaction out;
    out.raw = typed(rlp::encode_list(items));
    out.hash = protocol::keccak256(out.raw);
    return out;
}

result<received_transaction> read_transaction(protocol::byte_view raw) {
    if (raw.empty() || raw[0] != type_eip1559) return bad("not an EIP-1559 (type 2) transaction");
    PURSER_TRY(outer, rlp::decode(raw.subspan(1)));
    if (!outer.is_list || outer.items.size() != signed_fields) return bad("expected a list of 12 fields");
    const auto& f = outer.items;
    for (std::size_t i = 0; i < signed_fields; ++i) {
        if (f[i].is_list != (i == 8)) return bad("field " + std::to_string(i) + " has the wrong shape");
    }
    if (!f[8].items.empty()) return bad("access lists are not supported");
    received_transaction out;
    eip1559_transaction& tx = out.tx;
    PURSER_TRY(chain_id, small_uint(f[0], "chainId"));
    PURSER_TRY(nonce, small_uint(f[1], "nonce"));
    PURSER_TRY(tip, rlp::to_uint(f[2]));
    PURSER_TRY(max_fee, rlp::to_uint(f[3]));
    PURSER_TRY(gas, small_uint(f[4], "gas"));
    if (f[5].data.size() != 20) return bad("'to' must be a 20-byte address (contract creation is not supported)");
    std::array<std::uint8_t, 20> to{};
    std::copy(f[5].data.begin(), f[5].data.end(), to.begin());
    PURSER_TRY(value, rlp::to_uint(f[6]));
    tx.chain_id = chain_id;
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = tip;
    tx.max_fee_per_gas = max_fee;
    tx.gas = gas;
    tx.to = protocol::address(to);
    tx.value = value;
    tx.data = f[7].data;

    PURSER_TRY(y_parity, small_uint(f[9], "yParity"));
    if (y_parity > 1) return bad("yParity must be 0 or 1");
    PURSER_TRY(r, rlp::to_uint(f[10]));
    PURSER_TRY(s, rlp::to_uint(f[11]));
    std::array<std::uint8_t, 65> sig_bytes{};
    const auto rb = r.to_be_bytes();
    const auto sb = s.to_be_bytes();
    std::copy(rb.begin(), rb.end(), sig_bytes.begin());
    std::copy(sb.begin(), sb.end(), sig_bytes.begin() + 32);
    sig_bytes[64] = static_cast<std::uint8_t>(27 + y_parity);
    PURSER_TRY(sig, signature::from_bytes(sig_bytes));
    PURSER_TRY(sender, recover_address(signing_hash(tx), sig));
    out.sender = sender;
    out.hash = protocol::keccak256(raw);
    return out;
}

}  // namespace purser::wallet
