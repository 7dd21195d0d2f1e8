// canonical_host: one spelling per destination (see url.hpp for why).
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "purser/protocol/errc.hpp"
#include "purser/protocol/url.hpp"

namespace purser::protocol {
namespace {

constexpr std::size_t max_name = 253;
constexpr std::size_t max_label = 63;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    const char l = lower(c);
    if (l >= 'a' && l <= 'f') return l - 'a' + 10;
    return -1;
}

/// A host detail shown to users: the text, cut so a hostile host cannot flood a log line.
std::string quoted(std::string_view text) {
    constexpr std::size_t shown = 64;
    std::string out = "'";
    out += text.substr(0, shown);
    if (text.size() > shown) out += "...";
    return out + "'";
}

/// One inet_aton part: "0x" + hex digits, "0" + octal digits, or decimal. nullopt when the part
/// is none of those or does not fit 32 bits. Stricter than glibc in one place: a bare "0x" (which
/// glibc reads as 0) is refused, as nothing legitimate writes it.
std::optional<std::uint32_t> ipv4_part(std::string_view part) {
    unsigned base = 10;
    if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
        base = 16;
        part.remove_prefix(2);
    } else if (part.size() >= 2 && part[0] == '0') {
        base = 8;
        part.remove_prefix(1);
    }
    if (part.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : part) {
        const int d = hex_value(c);
        if (d < 0 || static_cast<unsigned>(d) >= base) return std::nullopt;
        value = value * base + static_cast<unsigned>(d);
        if (value > 0xffffffffULL) return std::nullopt;
    }
    return static_cast<std::uint32_t>(value);
}

/// inet_aton's reading of `text` (no trailing dot): a.b.c.d, a.b.c (c is 16 bits), a.b (b is 24
/// bits) or a (32 bits); every part but the last is one byte.
std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
    std::array<std::uint32_t, 4> parts{};
    std::size_t n = 0;
    while (true) {
        if (n == parts.size()) return std::nullopt;
        const auto dot = text.find('.');
        const auto part = ipv4_part(text.substr(0, dot));
        if (!part) return std::nullopt;
        parts[n++] = *part;
        if (dot == std::string_view::npos) break;
        text.remove_prefix(dot + 1);
    }
    std::uint32_t address = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (parts[i] > 0xff) return std::nullopt;
        address |= parts[i] << (8 * (3 - i));
    }
    const std::size_t last_bits = 8 * (5 - n);  // 32, 24, 16 or 8
    const std::uint64_t last = parts[n - 1];
    if (last_bits < 32 && last >= (1ULL << last_bits)) return std::nullopt;
    return address | static_cast<std::uint32_t>(last);
}

std::string format_ipv4(std::uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
           std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

/// RFC 5952 section 4: lower-case hex without leading zeros, the longest run (the first of equal
/// runs) of two or more zero groups written "::".
std::string format_ipv6(const std::array<std::uint8_t, 16>& b) {
    std::array<unsigned, 8> g{};
    for (std::size_t i = 0; i < 8; ++i) g[i] = (unsigned{b[2 * i]} << 8) | b[2 * i + 1];
    std::size_t best = 8, best_len = 0;
    for (std::size_t i = 0; i < 8;) {
        if (g[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < 8 && g[j] == 0) ++j;
        if (j - i > best_len) best = i, best_len = j - i;
        i = j;
    }
    if (best_len < 2) best = 8;
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned d = (g[i] >> shift) & 0xf;
            if (d != 0 || started || shift == 0) {
                out += digits[d];
                started = true;
            }
        }
    }
    return out;
}

result<std::string> canonical_ipv6(std::string_view text) {
    // inet_pton wants a C string; anything longer than the longest IPv6 text is not one.
    constexpr std::size_t longest = 45;  // INET6_ADDRSTRLEN - 1
    if (text.size() > longest) return fail(errc::invalid_host, "IPv6 address too long");
    for (char c : text) {
        if (c == '%') return fail(errc::invalid_host, "IPv6 zone ids are not accepted");
        if (hex_value(c) < 0 && c != ':' && c != '.')
            return fail(errc::invalid_host, "bad IPv6 address " + quoted(text));
    }
    const std::string z(text);
    std::array<std::uint8_t, 16> b{};
    if (::inet_pton(AF_INET6, z.c_str(), b.data()) != 1)
        return fail(errc::invalid_host, "bad IPv6 address " + quoted(text));
    // ::ffff:a.b.c.d reaches a.b.c.d, so it is that host as far as policy is concerned.
    constexpr std::array<std::uint8_t, 12> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(mapped.begin(), mapped.end(), b.begin())) {
        return format_ipv4((std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) |
                           (std::uint32_t{b[14]} << 8) | b[15]);
    }
    return format_ipv6(b);
}

}  // namespace

result<std::string> canonical_host(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
        if (text.find(':') == std::string_view::npos)
            return fail(errc::invalid_host, "brackets around a host that is not IPv6");
        return canonical_ipv6(text);
    }
    if (text.find(':') != std::string_view::npos) return canonical_ipv6(text);

    if (!text.empty() && text.back() == '.') text.remove_suffix(1);  // the DNS root
    if (text.empty()) return fail(errc::invalid_host, "empty host");
    if (text.size() > max_name)
        return fail(errc::invalid_host, "host name longer than 253 characters");
    for (char c : text) {
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.')
            return fail(errc::invalid_host, "character not allowed in host " + quoted(text));
    }
    std::string_view last_label;
    for (std::string_view rest = text;;) {
        const auto dot = rest.find('.');
        const auto label = rest.substr(0, dot);
        if (label.empty()) return fail(errc::invalid_host, "empty label in host " + quoted(text));
        if (label.size() > max_label)
            return fail(errc::invalid_host, "label longer than 63 characters in host " + quoted(text));
        last_label = label;
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    if (is_digit(last_label.front())) {
        const auto v4 = parse_ipv4(text);
        if (!v4)
            return fail(errc::invalid_host,
                        "numeric host " + quoted(text) + " is not exactly one IPv4 address");
        return format_ipv4(*v4);
    }
    std::string out(text);
    for (char& c : out) c = lower(c);
    return out;
}

bool is_ipv6_host(std::string_view host) noexcept {
    return host.find(':') != std::string_view::npos;
}

std::string format_authority(std::string_view host, std::uint16_t port) {
    std::string out;
    if (is_ipv6_host(host)) {
        out += '[';
        out += host;
        out += ']';
    } else {
        out += host;
    }
    return out + ":" + std::to_string(port);
}

}  // namespace purser::protocol
