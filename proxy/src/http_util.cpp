#include "purser/proxy/detail/http_util.hpp"

#include <algorithm>
#include <cctype>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/url.hpp"
#include "purser/proxy/errc.hpp"

namespace purser::proxy::detail {
namespace {

// ASCII only, as HTTP's case-insensitive tokens are: std::tolower would consult the locale on every
// character of every header name the proxy compares.
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string origin::authority() const { return protocol::format_authority(host, port); }

std::string origin::url() const {
    return std::string(tls ? "https://" : "http://") + authority() + target;
}

// Both parsers hand the host through protocol::canonical_host, so what the proxy connects to,
// logs, matches against intercept lists and gives the payment flow is one spelling per address.
// Their errors keep the protocol's one-line detail, which the session sends back in a 400.
result<std::pair<std::string, std::uint16_t>> parse_authority(std::string_view text) {
    auto hp = protocol::parse_authority(text);
    if (!hp) return fail(errc::invalid_url, hp.error().detail);
    return std::pair{std::move(hp->host), hp->port.value_or(std::uint16_t{0})};
}

result<origin> parse_absolute_url(std::string_view text) {
    auto u = protocol::parse_url(text);
    if (!u) return fail(errc::invalid_url, u.error().detail);
    if (u->tls())
        return fail(errc::invalid_url, "a proxy needs an absolute http:// URL (https uses CONNECT)");
    origin o;
    o.host = std::move(u->host);
    o.port = u->port;
    o.target = std::move(u->target);
    return o;
}

std::optional<std::pair<std::string, std::string>> decode_basic(std::string_view value) {
    value = trim(value);
    constexpr std::string_view basic = "basic ";
    if (value.size() <= basic.size() || !iequals(value.substr(0, basic.size()), basic))
        return std::nullopt;
    auto decoded = protocol::base64_decode(trim(value.substr(basic.size())), 4096);
    if (!decoded) return std::nullopt;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::pair{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool should_intercept(const std::vector<std::string>& intercept,
                      const std::vector<std::string>& no_intercept, std::string_view host) {
    const auto match = [&](const std::string& p) { return protocol::host_pattern_matches(p, host); };
    return std::any_of(intercept.begin(), intercept.end(), match) &&
           std::none_of(no_intercept.begin(), no_intercept.end(), match);
}

bool is_hop_by_hop(std::string_view name, std::string_view connection_value) {
    // Never let a peer make us drop the framing headers through Connection.
    if (iequals(name, "transfer-encoding") || iequals(name, "content-length")) return false;
    static constexpr std::string_view always[] = {"connection", "keep-alive", "proxy-authorization",
                                                  "proxy-authenticate", "proxy-connection", "te",
                                                  "trailer", "upgrade"};
    for (const auto hop : always)
        if (iequals(name, hop)) return true;
    while (!connection_value.empty()) {
        const auto comma = connection_value.find(',');
        if (iequals(trim(connection_value.substr(0, comma)), name)) return true;
        if (comma == std::string_view::npos) break;
        connection_value.remove_prefix(comma + 1);
    }
    return false;
}

tunnel_sniff sniff_tunnel(std::string_view first_bytes) {
    if (first_bytes.empty()) return tunnel_sniff::need_more;
    if (first_bytes.front() == '\x16') {
        if (first_bytes.size() < 2) return tunnel_sniff::need_more;
        return first_bytes[1] == '\x03' ? tunnel_sniff::tls : tunnel_sniff::unknown;
    }
    // The longest registered method is 17 characters; anything longer is not a request line.
    constexpr std::size_t max_method = 32;
    constexpr std::string_view tchar_punct = "!#$%&'*+-.^_`|~";
    for (std::size_t i = 0; i < first_bytes.size() && i <= max_method; ++i) {
        const auto c = static_cast<unsigned char>(first_bytes[i]);
        if (c == ' ') return i == 0 ? tunnel_sniff::unknown : tunnel_sniff::http;
        if (!std::isalnum(c) && tchar_punct.find(static_cast<char>(c)) == std::string_view::npos)
            return tunnel_sniff::unknown;
    }
    return first_bytes.size() > max_method ? tunnel_sniff::unknown : tunnel_sniff::need_more;
}

bool rewrite_later_minor_version(char* bytes, std::size_t size) {
    const std::string_view text(bytes, size);
    const auto eol = text.find("\r\n");
    if (eol == std::string_view::npos) return false;
    constexpr std::string_view prefix = " HTTP/1.";
    const auto line = text.substr(0, eol);
    if (line.size() > prefix.size() &&
        line.substr(line.size() - prefix.size() - 1, prefix.size()) == prefix) {
        char& minor = bytes[eol - 1];
        if (minor >= '2' && minor <= '9') minor = '1';
    }
    return true;
}

std::string redact_url(std::string_view url) {
    const auto cut = url.find_first_of("?#");
    return std::string(url.substr(0, cut));
}

}  // namespace purser::proxy::detail
