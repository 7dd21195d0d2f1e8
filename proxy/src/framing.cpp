#include "purser/proxy/detail/framing.hpp"

#include <cctype>
#include <string>

namespace purser::proxy::detail {
namespace {

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_chunked(std::string_view coding) {
    constexpr std::string_view chunked = "chunked";
    if (coding.size() != chunked.size()) return false;
    for (std::size_t i = 0; i < coding.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(coding[i])) != chunked[i]) return false;
    return true;
}

/// The agent sees the coding it sent in the reason; bounded so the line stays one short line.
std::string quoted(std::string_view coding) {
    constexpr std::size_t max_shown = 40;
    std::string out = "'" + std::string(coding.substr(0, max_shown));
    if (coding.size() > max_shown) out += "...";
    return out + "'";
}

}  // namespace

std::optional<framing_refusal> check_request_framing(
    const std::vector<std::string_view>& transfer_encodings, bool has_content_length) {
    if (transfer_encodings.empty()) return std::nullopt;
    if (has_content_length)
        return framing_refusal{400, "request has both Content-Length and Transfer-Encoding"};

    // Every field's comma-separated list, joined in order (RFC 9110 §5.3); empty list elements
    // are allowed by the list syntax and carry nothing (§5.6.1).
    std::vector<std::string_view> codings;
    for (auto value : transfer_encodings) {
        while (!value.empty()) {
            const auto comma = value.find(',');
            const auto item = trim_ows(value.substr(0, comma));
            if (!item.empty()) codings.push_back(item);
            if (comma == std::string_view::npos) break;
            value.remove_prefix(comma + 1);
        }
    }
    if (codings.empty()) return framing_refusal{400, "empty Transfer-Encoding"};
    for (std::size_t i = 0; i + 1 < codings.size(); ++i)
        if (is_chunked(codings[i]))
            return framing_refusal{400, "chunked is not the final transfer coding"};
    for (const auto coding : codings)
        if (!is_chunked(coding))
            return framing_refusal{501, "transfer coding " + quoted(coding) +
                                            " is not implemented; only chunked is"};
    return std::nullopt;
}

bool is_framing_look_alike(std::string_view name) {
    const auto lower = [](char ch) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    };
    std::string squeezed;
    for (const char ch : name) {
        const char c = ch == '_' ? '-' : lower(ch);
        if (c == '-' && (squeezed.empty() || squeezed.back() == '-')) continue;
        if (c == ' ' || c == '\t') continue;  // Content-Length<SP> if a parser lets it through
        squeezed.push_back(c);
    }
    while (!squeezed.empty() && squeezed.back() == '-') squeezed.pop_back();
    if (squeezed != "content-length" && squeezed != "transfer-encoding") return false;
    std::string as_sent;
    for (const char ch : name) as_sent.push_back(lower(ch));
    return as_sent != squeezed;
}

}  // namespace purser::proxy::detail
