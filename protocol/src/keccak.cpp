#include "purser/protocol/keccak.hpp"

#include <cstring>

#include <nettle/sha3.h>

namespace purser::protocol {
namespace {

// Keccak-256: capacity 512 bits, so the sponge absorbs 136-byte blocks.
constexpr std::size_t rate_bytes = 136;

void absorb_block(sha3_state& st, const std::uint8_t* block) {
    for (std::size_t lane = 0; lane < rate_bytes / 8; ++lane) {
        std::uint64_t v = 0;
        for (std::size_t k = 0; k < 8; ++k) v |= std::uint64_t{block[lane * 8 + k]} << (8 * k);
        st.a[lane] ^= v;
    }
    sha3_permute(&st);
}

}  // namespace

bytes32 keccak256(byte_view data) {
    sha3_state st;
    std::memset(&st, 0, sizeof st);
    std::size_t off = 0;
    for (; off + rate_bytes <= data.size(); off += rate_bytes) absorb_block(st, data.data() + off);

    // Original Keccak multi-rate padding: 0x01 ... 0x80 (NIST SHA-3 would use 0x06).
    std::uint8_t last[rate_bytes] = {};
    std::size_t rest = data.size() - off;
    if (rest > 0) std::memcpy(last, data.data() + off, rest);
    last[rest] ^= 0x01;
    last[rate_bytes - 1] ^= 0x80;
    absorb_block(st, last);

    bytes32 out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<std::uint8_t>(st.a[i / 8] >> (8 * (i % 8)));
    }
    return out;
}

bytes32 keccak256(std::string_view text) {
    return keccak256(byte_view(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace purser::protocol
