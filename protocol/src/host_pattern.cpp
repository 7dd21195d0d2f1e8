// Host patterns for intercept lists and agent policies: one grammar and one matcher for both.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "purser/protocol/url.hpp"

namespace purser::protocol {
namespace {

/// The canonical suffix of "*.suffix", or nullopt unless it is a registered name: addresses have
/// no subdomains, and "*.1" must not quietly mean "*.0.0.0.1".
std::optional<std::string> wildcard_suffix(std::string_view pattern) {
    if (pattern.size() < 3 || pattern.substr(0, 2) != "*.") return std::nullopt;
    auto suffix = canonical_host(pattern.substr(2));
    if (!suffix || is_ipv6_host(*suffix)) return std::nullopt;
    // canonical_host reads a last label that starts with a digit as IPv4, so such a label in
    // its output means a dotted-quad; a name's last label never starts with one.
    const auto dot = suffix->rfind('.');
    const char first = (*suffix)[dot == std::string::npos ? 0 : dot + 1];
    if (first >= '0' && first <= '9') return std::nullopt;
    return std::move(*suffix);
}

}  // namespace

bool valid_host_pattern(std::string_view pattern) {
    if (pattern == "*") return true;
    if (pattern.substr(0, 1) == "*") return wildcard_suffix(pattern).has_value();
    return canonical_host(pattern).has_value();
}

bool host_pattern_matches(std::string_view pattern, std::string_view host) {
    if (pattern == "*") return true;
    if (pattern.substr(0, 1) == "*") {
        const auto suffix = wildcard_suffix(pattern);
        // Strict subdomains: "*.example.com" matches "a.example.com", not "example.com".
        return suffix && host.size() > suffix->size() + 1 &&
               host.substr(host.size() - suffix->size()) == *suffix &&
               host[host.size() - suffix->size() - 1] == '.';
    }
    const auto exact = canonical_host(pattern);
    return exact && *exact == host;
}

}  // namespace purser::protocol
