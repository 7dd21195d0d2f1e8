#include "purser/protocol/address.hpp"

#include <cctype>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/keccak.hpp"

namespace purser::protocol {

result<address> address::parse(std::string_view text) {
    if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        return fail(errc::invalid_address,
                    "expected 0x followed by 40 hex digits, got \"" +
                        std::string(text.substr(0, 64)) + "\"");
    }
    auto raw = from_hex(text.substr(2));
    if (!raw) return fail(errc::invalid_address, "\"" + std::string(text) + "\" is not hex");
    std::array<std::uint8_t, 20> bytes20{};
    std::copy(raw->begin(), raw->end(), bytes20.begin());
    address out(bytes20);

    std::string_view digits = text.substr(2);
    bool has_lower = false;
    bool has_upper = false;
    for (char c : digits) {
        has_lower |= (c >= 'a' && c <= 'f');
        has_upper |= (c >= 'A' && c <= 'F');
    }
    if (has_lower && has_upper && out.to_checksum().substr(2) != digits) {
        return fail(errc::invalid_address, "\"" + std::string(text) + "\" has a bad EIP-55 checksum");
    }
    return out;
}

std::string address::to_lower() const { return to_hex(raw_, true); }

std::string address::to_checksum() const {
    std::string lower = to_hex(raw_, false);
    bytes32 h = keccak256(std::string_view(lower));
    std::string out = "0x";
    for (std::size_t i = 0; i < lower.size(); ++i) {
        char c = lower[i];
        std::uint8_t nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
        if (c >= 'a' && nibble >= 8) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.push_back(c);
    }
    return out;
}

bool address::is_zero() const {
    for (auto b : raw_) {
        if (b != 0) return false;
    }
    return true;
}

}  // namespace purser::protocol
