#include "purser/protocol/rlp.hpp"

#include "purser/protocol/errc.hpp"

namespace purser::protocol::rlp {
namespace {

// The length prefix: `short_base + size` below 56 bytes, else `short_base + 55 + n` followed by
// the size in n big-endian bytes.
void append_prefix(bytes& out, std::uint8_t short_base, std::size_t size) {
    if (size < 56) {
        out.push_back(static_cast<std::uint8_t>(short_base + size));
        return;
    }
    bytes be;
    for (std::size_t v = size; v != 0; v >>= 8) be.insert(be.begin(), static_cast<std::uint8_t>(v & 0xff));
    out.push_back(static_cast<std::uint8_t>(short_base + 55 + be.size()));
    out.insert(out.end(), be.begin(), be.end());
}

tl::unexpected<error> bad(const char* what) { return fail(errc::invalid_value, std::string("RLP: ") + what); }

struct cursor {
    byte_view in;
    std::size_t pos = 0;
};

// Reads an n-byte big-endian length (no leading zero, at least 56: canonical long form).
result<std::size_t> long_length(cursor& c, std::size_t n) {
    if (n > sizeof(std::size_t) || c.pos + n > c.in.size()) return bad("truncated length");
    if (c.in[c.pos] == 0) return bad("length with a leading zero");
    std::size_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | c.in[c.pos + i];
    c.pos += n;
    if (v < 56) return bad("long form for a short length");
    return v;
}

result<item> read_item(cursor& c, int depth) {
    if (depth >= max_depth) return bad("lists nested too deep");
    if (c.pos >= c.in.size()) return bad("truncated item");
    const std::uint8_t b = c.in[c.pos++];
    item out;
    if (b < 0x80) {
        out.data.push_back(b);
        return out;
    }
    std::size_t size = 0;
    if (b <= 0xb7) {
        size = b - 0x80u;
    } else if (b <= 0xbf) {
        PURSER_TRY(n, long_length(c, b - 0xb7u));
        size = n;
    } else if (b <= 0xf7) {
        out.is_list = true;
        size = b - 0xc0u;
    } else {
        out.is_list = true;
        PURSER_TRY(n, long_length(c, b - 0xf7u));
        size = n;
    }
    if (size > c.in.size() - c.pos) return fail(errc::too_large, "RLP: item longer than its input");
    const std::size_t end = c.pos + size;
    if (!out.is_list) {
        if (size == 1 && c.in[c.pos] < 0x80) return bad("single byte below 0x80 with a prefix");
        out.data.assign(c.in.begin() + static_cast<std::ptrdiff_t>(c.pos),
                        c.in.begin() + static_cast<std::ptrdiff_t>(end));
        c.pos = end;
        return out;
    }
    cursor inner{c.in.first(end), c.pos};
    while (inner.pos < end) {
        PURSER_TRY(child, read_item(inner, depth + 1));
        out.items.push_back(std::move(child));
    }
    c.pos = end;
    return out;
}

}  // namespace

bytes encode_string(byte_view data) {
    bytes out;
    if (data.size() == 1 && data[0] < 0x80) {
        out.push_back(data[0]);
        return out;
    }
    append_prefix(out, 0x80, data.size());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

bytes encode_uint(const uint256& value) {
    const auto be = value.to_be_bytes();
    std::size_t first = 0;
    while (first < be.size() && be[first] == 0) ++first;
    return encode_string(byte_view(be.data() + first, be.size() - first));
}

bytes encode_list(const std::vector<bytes>& encoded_items) {
    std::size_t size = 0;
    for (const auto& i : encoded_items) size += i.size();
    bytes out;
    append_prefix(out, 0xc0, size);
    for (const auto& i : encoded_items) out.insert(out.end(), i.begin(), i.end());
    return out;
}

result<item> decode(byte_view input) {
    cursor c{input, 0};
    PURSER_TRY(it, read_item(c, 0));
    if (c.pos != input.size()) return bad("trailing bytes after the item");
    return it;
}

result<uint256> to_uint(const item& it) {
    if (it.is_list) return fail(errc::wrong_type, "RLP: a list where an integer belongs");
    if (it.data.size() > 32) return fail(errc::overflow, "RLP: integer longer than 32 bytes");
    if (!it.data.empty() && it.data[0] == 0) return bad("integer with a leading zero");
    return uint256::from_be_bytes(it.data);
}

}  // namespace purser::protocol::rlp
