#include "purser/protocol/bytes.hpp"

#include "purser/protocol/errc.hpp"

namespace purser::protocol {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";
constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Standard and URL-safe alphabets; -1 for anything else.
int b64_value(char c, bool allow_url_safe) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (allow_url_safe && c == '-') return 62;
    if (allow_url_safe && c == '_') return 63;
    return -1;
}

result<std::string> decode_b64(std::string_view text, bool allow_url_safe, bool require_padding,
                               std::size_t max_input) {
    if (text.size() > max_input) {
        return fail(errc::too_large, "base64 input of " + std::to_string(text.size()) +
                                         " characters exceeds " + std::to_string(max_input));
    }
    std::size_t pad = 0;
    while (pad < text.size() && pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
    std::string_view body = text.substr(0, text.size() - pad);
    if (pad > 0 && (text.size() % 4) != 0) {
        return fail(errc::invalid_base64, "padding does not complete a 4-character group");
    }
    if (require_padding && pad == 0 && (text.size() % 4) != 0) {
        return fail(errc::invalid_base64, "length is not a multiple of 4");
    }
    if (body.size() % 4 == 1) return fail(errc::invalid_base64, "truncated input");

    std::string out;
    out.reserve(body.size() / 4 * 3 + 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        int v = b64_value(body[i], allow_url_safe);
        if (v < 0) {
            return fail(errc::invalid_base64,
                        "character at position " + std::to_string(i) + " is not base64");
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xffu));
        }
    }
    // Leftover bits must be zero, or the encoding is not canonical.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return fail(errc::invalid_base64, "non-zero trailing bits");
    }
    return out;
}

}  // namespace

std::string to_hex(byte_view data, bool prefix) {
    std::string out;
    out.reserve(data.size() * 2 + 2);
    if (prefix) out += "0x";
    for (std::uint8_t b : data) {
        out.push_back(hex_digits[b >> 4]);
        out.push_back(hex_digits[b & 0x0f]);
    }
    return out;
}

result<bytes> from_hex(std::string_view text) {
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
    }
    if (text.size() % 2 != 0) return fail(errc::invalid_hex, "odd number of hex digits");
    bytes out(text.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return fail(errc::invalid_hex, "bad hex digit at position " + std::to_string(2 * i));
        }
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return out;
}

result<bytes32> bytes32_from_hex(std::string_view text) {
    if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        return fail(errc::invalid_hex, "expected 0x-prefixed hex");
    }
    PURSER_TRY(raw, from_hex(text));
    if (raw.size() != 32) {
        return fail(errc::invalid_value,
                    "expected 32 bytes, got " + std::to_string(raw.size()));
    }
    bytes32 out{};
    std::copy(raw.begin(), raw.end(), out.begin());
    return out;
}

std::string base64_encode(byte_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                          std::uint32_t{data[i + 2]};
        out.push_back(b64_alphabet[(v >> 18) & 63]);
        out.push_back(b64_alphabet[(v >> 12) & 63]);
        out.push_back(b64_alphabet[(v >> 6) & 63]);
        out.push_back(b64_alphabet[v & 63]);
    }
    if (std::size_t rest = data.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t{data[i]} << 16;
        if (rest == 2) v |= std::uint32_t{data[i + 1]} << 8;
        out.push_back(b64_alphabet[(v >> 18) & 63]);
        out.push_back(b64_alphabet[(v >> 12) & 63]);
        out.push_back(rest == 2 ? b64_alphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::string base64_encode(std::string_view text) {
    return base64_encode(
        byte_view(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

result<std::string> base64_decode(std::string_view text, std::size_t max_input) {
    return decode_b64(text, true, false, max_input);
}

result<std::string> base64_decode_header(std::string_view text, std::size_t max_input) {
    return decode_b64(text, false, false, max_input);
}

}  // namespace purser::protocol
