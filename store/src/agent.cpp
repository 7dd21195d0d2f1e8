#include "purser/store/agent.hpp"

#include <cctype>

namespace purser::store {
namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

}  // namespace

bool valid_agent_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

bool valid_host_pattern(std::string_view pattern) noexcept {
    std::string_view rest = pattern;
    if (rest.rfind("*.", 0) == 0) rest.remove_prefix(2);
    if (rest.empty() || rest.size() > 253) return false;
    if (rest.front() == '.' || rest.back() == '.') return false;
    if (rest.find("..") != std::string_view::npos) return false;
    for (char c : rest) {
        if (!host_char(c)) return false;
    }
    return true;
}

bool host_matches(std::string_view pattern, std::string_view host) noexcept {
    if (pattern.rfind("*.", 0) == 0) {
        const std::string_view suffix = pattern.substr(1);  // ".example.com"
        // A subdomain only: "*.example.com" does not match "example.com" itself.
        return host.size() > suffix.size() &&
               iequal(host.substr(host.size() - suffix.size()), suffix);
    }
    return iequal(pattern, host);
}

}  // namespace purser::store
