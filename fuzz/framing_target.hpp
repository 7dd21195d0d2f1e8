// The request-framing fuzz target (RFC 9112 §6 checks of proxy/detail/framing.hpp), shared by
// the libFuzzer entry point and the replay test in tests/proxy. Input: one byte whose low bit
// says whether Content-Length is present, then the Transfer-Encoding field values, one per line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "purser/proxy/detail/framing.hpp"

namespace purser::fuzz {

/// False when an invariant breaks: an accepted request must have no Content-Length and forward a
/// Transfer-Encoding that ends in `chunked` and carries no control character and no parameter; a
/// refusal must be 400 or 501 with a one-line reason.
inline bool framing_target(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return true;
    const bool has_content_length = (data[0] & 1) != 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::vector<std::string_view> fields;
    for (std::size_t start = 0; start <= rest.size();) {
        const auto nl = rest.find('\n', start);
        const auto end = nl == std::string_view::npos ? rest.size() : nl;
        fields.push_back(rest.substr(start, end - start));
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    if (rest.empty()) fields.clear();
    for (auto f : fields) (void)proxy::detail::is_framing_look_alike(f);

    const auto refusal = proxy::detail::check_request_framing(fields, has_content_length);
    if (refusal) {
        return (refusal->status == 400 || refusal->status == 501) && !refusal->why.empty() &&
               refusal->why.find_first_of("\r\n") == std::string::npos;
    }
    if (fields.empty()) return true;  // no Transfer-Encoding: framed by Content-Length or nothing
    if (has_content_length) return false;  // both framing headers must never pass
    const std::string forwarded = proxy::detail::forwarded_transfer_encoding(fields);
    const std::string_view tail = "chunked";
    if (forwarded.size() < tail.size() || forwarded.compare(forwarded.size() - tail.size(), tail.size(), tail) != 0)
        return false;
    for (unsigned char c : forwarded)
        if (c < 0x20 || c == 0x7f || c == ';') return false;
    return true;
}

}  // namespace purser::fuzz
