#include "purser/proxy/detail/framing.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace purser::proxy::detail {
namespace {

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals_lower(std::string_view s, std::string_view lower) {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != lower[i]) return false;
    return true;
}

/// tchar (RFC 9110 §5.6.2).
bool is_token(std::string_view s) {
    constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 ||
               specials.find(ch) != std::string_view::npos;
    });
}

/// One element of the coding list: its name and whether it carries a non-empty parameter
/// (`gzip   ;   ` has none; `chunked;custom_param` has one).
struct coding {
    std::string_view name;
    bool has_parameter = false;
};

/// Every field's comma-separated list, joined in order (RFC 9110 §5.3); empty list elements
/// are allowed by the list syntax and carry nothing (§5.6.1). A quoted comma inside a parameter
/// splits the element too, which leaves a name that is not a token: refused, never misread.
std::vector<coding> coding_list(const std::vector<std::string_view>& transfer_encodings) {
    std::vector<coding> out;
    for (auto value : transfer_encodings) {
        while (!value.empty()) {
            const auto comma = value.find(',');
            auto item = trim_ows(value.substr(0, comma));
            if (!item.empty()) {
                coding c;
                const auto semi = item.find(';');
                c.name = trim_ows(item.substr(0, semi));
                for (auto rest = semi == std::string_view::npos ? std::string_view()
                                                                : item.substr(semi + 1);
                     !rest.empty();) {
                    const auto next = rest.find(';');
                    if (!trim_ows(rest.substr(0, next)).empty()) c.has_parameter = true;
                    if (next == std::string_view::npos) break;
                    rest.remove_prefix(next + 1);
                }
                out.push_back(c);
            }
            if (comma == std::string_view::npos) break;
            value.remove_prefix(comma + 1);
        }
    }
    return out;
}

bool is_chunked(const coding& c) { return iequals_lower(c.name, "chunked"); }

/// The agent sees the coding it sent in the reason; bounded, and with control characters shown
/// as '?', so the reason stays one short line whatever bytes the field held.
std::string quoted(std::string_view coding) {
    constexpr std::size_t max_shown = 40;
    std::string out = "'";
    for (char c : coding.substr(0, max_shown)) {
        const auto u = static_cast<unsigned char>(c);
        out += u < 0x20 || u == 0x7f ? '?' : c;
    }
    if (coding.size() > max_shown) out += "...";
    return out + "'";
}

}  // namespace

std::optional<framing_refusal> check_request_framing(
    const std::vector<std::string_view>& transfer_encodings, bool has_content_length) {
    if (transfer_encodings.empty()) return std::nullopt;
    if (has_content_length)
        return framing_refusal{400, "request has both Content-Length and Transfer-Encoding"};
    const auto codings = coding_list(transfer_encodings);
    if (codings.empty()) return framing_refusal{400, "empty Transfer-Encoding"};
    for (std::size_t i = 0; i + 1 < codings.size(); ++i)
        if (is_chunked(codings[i]))
            return framing_refusal{400, "chunked is not the final transfer coding"};
    if (!is_chunked(codings.back()))
        return framing_refusal{
            501, "final transfer coding " + quoted(codings.back().name) + " is not implemented"};
    for (std::size_t i = 0; i + 1 < codings.size(); ++i)
        if (!is_token(codings[i].name))
            return framing_refusal{400, "malformed transfer coding " + quoted(codings[i].name)};
    for (std::size_t i = 0; i + 1 < codings.size(); ++i)
        if (codings[i].has_parameter)
            return framing_refusal{501, "parameters on transfer coding " + quoted(codings[i].name) +
                                            " are not implemented"};
    return std::nullopt;
}

std::string forwarded_transfer_encoding(const std::vector<std::string_view>& transfer_encodings) {
    const auto codings = coding_list(transfer_encodings);
    std::string out;
    for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
        if (iequals_lower(codings[i].name, "identity")) continue;  // the absence of a coding
        for (const char ch : codings[i].name)
            out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
        out += ", ";
    }
    return out + "chunked";
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
