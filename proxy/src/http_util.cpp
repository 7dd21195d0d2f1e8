#include "purser/proxy/detail/http_util.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "purser/protocol/bytes.hpp"
#include "purser/proxy/errc.hpp"

namespace purser::proxy::detail {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool valid_host(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    return std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' ||
               c == '_' || c == ':';
    });
}

std::string bracket(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string origin::authority() const { return bracket(host) + ":" + std::to_string(port); }

std::string origin::url() const {
    return std::string(tls ? "https://" : "http://") + authority() + target;
}

result<std::pair<std::string, std::uint16_t>> parse_authority(std::string_view text) {
    std::string_view host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return fail(errc::invalid_url, "unclosed '[' in host");
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return fail(errc::invalid_url, "junk after ']'");
        port_text = rest.empty() ? rest : rest.substr(1);
        if (host.find(':') == std::string_view::npos)
            return fail(errc::invalid_url, "brackets around a non-IPv6 host");
    } else {
        const auto colon = text.rfind(':');
        host = colon == std::string_view::npos ? text : text.substr(0, colon);
        port_text = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return fail(errc::invalid_url, "IPv6 host without brackets");
    }
    if (!valid_host(host)) return fail(errc::invalid_url, "bad host name");
    unsigned port = 0;
    if (!port_text.empty()) {
        const auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (r.ec != std::errc{} || r.ptr != port_text.data() + port_text.size() || port == 0 ||
            port > 65535)
            return fail(errc::invalid_url, "bad port");
    }
    return std::pair{to_lower(host), static_cast<std::uint16_t>(port)};
}

result<origin> parse_absolute_url(std::string_view text) {
    origin o;
    constexpr std::string_view http = "http://";
    if (text.size() < http.size() || !iequals(text.substr(0, http.size()), http))
        return fail(errc::invalid_url, "a proxy needs an absolute http:// URL");
    text.remove_prefix(http.size());
    const auto slash = text.find_first_of("/?#");
    const auto auth = text.substr(0, slash);
    if (auth.find('@') != std::string_view::npos)
        return fail(errc::invalid_url, "credentials in the URL are not forwarded");
    PURSER_TRY(hp, parse_authority(auth));
    o.host = hp.first;
    o.port = hp.second == 0 ? 80 : hp.second;
    std::string_view rest = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    if (rest.empty()) o.target = "/";
    else if (rest.front() == '?') o.target = "/" + std::string(rest);
    else o.target = std::string(rest);
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

bool host_matches(std::string_view pattern, std::string_view host) {
    if (pattern == "*") return true;
    if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
        const auto suffix = pattern.substr(1);  // ".example.com"
        return host.size() > suffix.size() &&
               iequals(host.substr(host.size() - suffix.size()), suffix);
    }
    return iequals(pattern, host);
}

bool should_intercept(const std::vector<std::string>& intercept,
                      const std::vector<std::string>& no_intercept, std::string_view host) {
    const auto match = [&](const std::string& p) { return host_matches(p, host); };
    return std::any_of(intercept.begin(), intercept.end(), match) &&
           std::none_of(no_intercept.begin(), no_intercept.end(), match);
}

std::vector<std::string> hop_by_hop_names(std::string_view connection_value) {
    std::vector<std::string> names = {"connection", "keep-alive", "proxy-authorization",
                                      "proxy-authenticate", "proxy-connection", "te", "trailer",
                                      "upgrade"};
    while (!connection_value.empty()) {
        const auto comma = connection_value.find(',');
        const auto token = trim(connection_value.substr(0, comma));
        // Never let a peer make us drop the framing header through Connection.
        if (!token.empty() && !iequals(token, "transfer-encoding") &&
            !iequals(token, "content-length"))
            names.push_back(to_lower(token));
        if (comma == std::string_view::npos) break;
        connection_value.remove_prefix(comma + 1);
    }
    return names;
}

std::string redact_url(std::string_view url) {
    const auto cut = url.find_first_of("?#");
    return std::string(url.substr(0, cut));
}

}  // namespace purser::proxy::detail
