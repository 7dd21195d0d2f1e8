// Authorities and absolute http(s) URLs, with the host through canonical_host().
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "purser/protocol/errc.hpp"
#include "purser/protocol/url.hpp"

namespace purser::protocol {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

result<std::optional<std::uint16_t>> parse_port(std::string_view text) {
    // "host:" has an empty port, which RFC 3986 reads as the default.
    if (text.empty()) return std::optional<std::uint16_t>{};
    unsigned port = 0;
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, port);
    if (r.ec != std::errc{} || r.ptr != end || port == 0 || port > 65535)
        return fail(errc::invalid_url, "port must be a number from 1 to 65535");
    return std::optional<std::uint16_t>{static_cast<std::uint16_t>(port)};
}

}  // namespace

result<host_port> parse_authority(std::string_view text) {
    if (text.empty()) return fail(errc::invalid_url, "empty authority");
    if (text.find('@') != std::string_view::npos)
        return fail(errc::invalid_url, "credentials (user@) in a URL are not accepted");
    std::string_view host_text;
    std::string_view port_text;
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return fail(errc::invalid_url, "unclosed '[' in host");
        host_text = text.substr(0, close + 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            return fail(errc::invalid_url, "junk after ']' in authority");
        port_text = rest.empty() ? rest : rest.substr(1);
    } else {
        const auto colon = text.find(':');
        if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos)
            return fail(errc::invalid_url, "an IPv6 host needs brackets");
        host_text = text.substr(0, colon);
        if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
    }
    PURSER_TRY(host, canonical_host(host_text));
    PURSER_TRY(port, parse_port(port_text));
    return host_port{std::move(host), port};
}

std::string url::authority() const { return format_authority(host, port); }

result<url> parse_url(std::string_view text) {
    url out;
    const auto sep = text.find("://");
    const auto scheme = text.substr(0, sep);
    if (sep == std::string_view::npos || !(iequals(scheme, "http") || iequals(scheme, "https")))
        return fail(errc::invalid_url, "not an absolute http:// or https:// URL");
    out.scheme = iequals(scheme, "https") ? "https" : "http";
    text.remove_prefix(sep + 3);
    const auto end = text.find_first_of("/?#");
    PURSER_TRY(hp, parse_authority(text.substr(0, end)));
    out.host = std::move(hp.host);
    out.port = hp.port.value_or(out.tls() ? 443 : 80);
    auto rest = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos)
        rest = rest.substr(0, hash);  // fragments never leave the client
    for (char c : rest) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f)
            return fail(errc::invalid_url, "space, control or non-ASCII byte in the URL path");
    }
    if (rest.empty()) out.target = "/";
    else if (rest.front() == '?') out.target = "/" + std::string(rest);
    else out.target = std::string(rest);
    return out;
}

}  // namespace purser::protocol
