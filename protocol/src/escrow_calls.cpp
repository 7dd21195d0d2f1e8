#include "purser/protocol/escrow_calls.hpp"

#include <array>

#include "abi_words.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/keccak.hpp"

namespace purser::protocol::escrow {
namespace {

constexpr std::string_view config_tuple = "(address,address,address,address,address,uint40,bytes32)";
constexpr std::size_t config_words = 7;

using selector = std::array<std::uint8_t, 4>;

selector selector_of(const std::string& signature) {
    const auto h = keccak256(signature);
    return {h[0], h[1], h[2], h[3]};
}

const selector& deposit_selector() {
    static const selector s = selector_of("deposit(" + std::string(config_tuple) + ",uint128,address,bytes)");
    return s;
}
const selector& initiate_selector() {
    static const selector s = selector_of("initiateWithdraw(" + std::string(config_tuple) + ",uint128)");
    return s;
}
const selector& finalize_selector() {
    static const selector s = selector_of("finalizeWithdraw(" + std::string(config_tuple) + ")");
    return s;
}

using detail::put_address;
using detail::put_uint;
using detail::put_word;

// `bytes` in the tail: its length, then the data right-padded to a whole word.
void put_dynamic(bytes& out, byte_view data) {
    put_uint(out, uint256{data.size()});
    out.insert(out.end(), data.begin(), data.end());
    out.insert(out.end(), (32 - data.size() % 32) % 32, 0);
}

void put_config(bytes& out, const channel_config& c) {
    put_address(out, c.payer);
    put_address(out, c.payer_authorizer);
    put_address(out, c.receiver);
    put_address(out, c.receiver_authorizer);
    put_address(out, c.token);
    put_uint(out, uint256{c.withdraw_delay});
    put_word(out, c.salt);
}

tl::unexpected<error> bad(const std::string& what) { return fail(errc::invalid_value, "escrow call: " + what); }

// Words of ABI data, read with the checks a Solidity decoder makes.
class reader {
public:
    explicit reader(byte_view data) : data_(data) {}
    [[nodiscard]] std::size_t words() const { return data_.size() / 32; }
    [[nodiscard]] bool whole_words() const { return data_.size() % 32 == 0; }

    [[nodiscard]] result<bytes32> word(std::size_t i) const {
        if ((i + 1) * 32 > data_.size()) return bad("truncated");
        bytes32 w{};
        std::copy(data_.begin() + static_cast<std::ptrdiff_t>(i * 32),
                  data_.begin() + static_cast<std::ptrdiff_t>(i * 32 + 32), w.begin());
        return w;
    }
    [[nodiscard]] result<uint256> uint(std::size_t i, unsigned bits, const char* what) const {
        PURSER_TRY(w, word(i));
        PURSER_TRY(v, uint256::from_be_bytes(w));
        if (!v.fits_bits(bits)) return bad(std::string(what) + " above uint" + std::to_string(bits));
        return v;
    }
    [[nodiscard]] result<address> addr(std::size_t i, const char* what) const {
        PURSER_TRY(w, word(i));
        for (std::size_t k = 0; k < 12; ++k) {
            if (w[k] != 0) return bad(std::string(what) + " has dirty high bytes");
        }
        std::array<std::uint8_t, 20> raw{};
        std::copy(w.begin() + 12, w.end(), raw.begin());
        return address(raw);
    }
    [[nodiscard]] result<channel_config> config(std::size_t first) const {
        channel_config c;
        PURSER_TRY(payer, addr(first, "payer"));
        PURSER_TRY(payer_auth, addr(first + 1, "payerAuthorizer"));
        PURSER_TRY(receiver, addr(first + 2, "receiver"));
        PURSER_TRY(receiver_auth, addr(first + 3, "receiverAuthorizer"));
        PURSER_TRY(token, addr(first + 4, "token"));
        PURSER_TRY(delay, uint(first + 5, 40, "withdrawDelay"));
        PURSER_TRY(salt, word(first + 6));
        c.payer = payer;
        c.payer_authorizer = payer_auth;
        c.receiver = receiver;
        c.receiver_authorizer = receiver_auth;
        c.token = token;
        c.withdraw_delay = delay.low64();
        c.salt = salt;
        return c;
    }
    // A `bytes` argument whose head word sits at `head`: its offset must point right after the
    // head (the only canonical place when it is the last dynamic argument), and it must end the data.
    [[nodiscard]] result<bytes> last_dynamic(std::size_t head, std::size_t head_words) const {
        PURSER_TRY(offset, uint(head, 64, "offset"));
        if (offset != uint256{head_words * 32}) return bad("non-canonical offset of the bytes argument");
        PURSER_TRY(length, uint(head_words, 32, "length"));
        const std::size_t n = length.low64();
        const std::size_t padded = (n + 31) / 32 * 32;
        if (!whole_words() || data_.size() != (head_words + 1) * 32 + padded) {
            return bad("length of the bytes argument does not match the data");
        }
        const std::size_t start = (head_words + 1) * 32;
        for (std::size_t k = start + n; k < data_.size(); ++k) {
            if (data_[k] != 0) return bad("dirty padding after the bytes argument");
        }
        return bytes(data_.begin() + static_cast<std::ptrdiff_t>(start),
                     data_.begin() + static_cast<std::ptrdiff_t>(start + n));
    }

private:
    byte_view data_;
};

}  // namespace

bytes encode_deposit(const channel_config& config, const uint256& amount, const address& collector,
                     byte_view collector_data) {
    bytes out(deposit_selector().begin(), deposit_selector().end());
    put_config(out, config);
    put_uint(out, amount);
    put_address(out, collector);
    put_uint(out, uint256{(config_words + 3) * 32});
    put_dynamic(out, collector_data);
    return out;
}

bytes encode_initiate_withdraw(const channel_config& config, const uint256& amount) {
    bytes out(initiate_selector().begin(), initiate_selector().end());
    put_config(out, config);
    put_uint(out, amount);
    return out;
}

bytes encode_finalize_withdraw(const channel_config& config) {
    bytes out(finalize_selector().begin(), finalize_selector().end());
    put_config(out, config);
    return out;
}

bytes encode_collector_data(const erc3009_collector_data& d) {
    bytes out;
    put_uint(out, d.valid_after);
    put_uint(out, d.valid_before);
    put_uint(out, d.salt);
    put_uint(out, uint256{4 * 32});
    put_dynamic(out, d.signature);
    return out;
}

result<call> decode_call(byte_view data) {
    if (data.size() < 4) return bad("shorter than a selector");
    const selector sel{data[0], data[1], data[2], data[3]};
    const reader r(data.subspan(4));
    call c;
    PURSER_TRY(config, r.config(0));
    c.config = config;
    if (sel == finalize_selector()) {
        if (r.words() != config_words || !r.whole_words()) return bad("finalizeWithdraw takes exactly the config");
        c.kind = call_kind::finalize_withdraw;
        return c;
    }
    PURSER_TRY(amount, r.uint(config_words, 128, "amount"));
    c.amount = amount;
    if (sel == initiate_selector()) {
        if (r.words() != config_words + 1 || !r.whole_words()) return bad("initiateWithdraw takes the config and an amount");
        c.kind = call_kind::initiate_withdraw;
        return c;
    }
    if (sel != deposit_selector()) return bad("unknown function selector");
    c.kind = call_kind::deposit;
    PURSER_TRY(collector, r.addr(config_words + 1, "collector"));
    PURSER_TRY(extra, r.last_dynamic(config_words + 2, config_words + 3));
    c.collector = collector;
    c.collector_data = std::move(extra);
    return c;
}

result<erc3009_collector_data> decode_collector_data(byte_view data) {
    const reader r(data);
    erc3009_collector_data d;
    PURSER_TRY(after, r.uint(0, 256, "validAfter"));
    PURSER_TRY(before, r.uint(1, 256, "validBefore"));
    PURSER_TRY(salt, r.uint(2, 256, "salt"));
    PURSER_TRY(sig, r.last_dynamic(3, 4));
    d.valid_after = after;
    d.valid_before = before;
    d.salt = salt;
    d.signature = std::move(sig);
    return d;
}

}  // namespace purser::protocol::escrow
