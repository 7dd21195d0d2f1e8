#include "purser/store/agent.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "purser/protocol/url.hpp"

namespace purser::store {

bool valid_agent_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

// Host patterns are the protocol's, so an agent policy and the proxy's intercept lists read
// "*", "*.example.com" and "127.1" the same way.
bool valid_host_pattern(std::string_view pattern) { return protocol::valid_host_pattern(pattern); }

bool host_matches(std::string_view pattern, std::string_view host) {
    const auto canonical = protocol::canonical_host(host);
    return canonical && protocol::host_pattern_matches(pattern, *canonical);
}

bool host_allowed(const policy& limits, std::string_view host) {
    // The proxy hands over canonical hosts, but the store decides on money and takes no caller's
    // word for which destination a text names.
    const auto canonical = protocol::canonical_host(host);
    if (!canonical) return false;
    const auto matches = [&](const std::string& p) {
        return protocol::host_pattern_matches(p, *canonical);
    };
    if (std::any_of(limits.deny_hosts.begin(), limits.deny_hosts.end(), matches)) return false;
    return limits.allow_hosts.empty() ||
           std::any_of(limits.allow_hosts.begin(), limits.allow_hosts.end(), matches);
}

std::string ledger_host(std::string_view host) {
    if (auto canonical = protocol::canonical_host(host)) return std::move(*canonical);
    std::string out(host);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace purser::store
