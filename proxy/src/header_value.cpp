#include "purser/proxy/detail/header_value.hpp"

#include <cctype>

namespace purser::proxy::detail {

std::string safe_header_value(std::string_view text) {
    std::string out;
    out.reserve(std::min(text.size(), max_added_header_value));
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(c < 0x20 || c == 0x7F ? ' ' : ch);
        if (out.size() == max_added_header_value) break;
    }
    const auto first = out.find_first_not_of(' ');
    if (first == std::string::npos) return {};
    out.erase(0, first);
    out.erase(out.find_last_not_of(' ') + 1);
    return out;
}

bool is_purser_header(std::string_view name) {
    constexpr std::string_view prefix = "purser-";
    if (name.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(name[i])) != prefix[i]) return false;
    }
    return true;
}

}  // namespace purser::proxy::detail
