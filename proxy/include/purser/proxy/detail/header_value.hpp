// The one place where text becomes an HTTP header value that Purser itself adds. Every header the
// proxy adds to an agent's answer (Purser-Paid, Purser-Decision, Purser-Remaining, ...) passes
// through here, because parts of them can come from a merchant, and a CR or LF in a value would
// let that merchant write its own headers, or a whole forged response, into the agent's
// connection (response splitting).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace purser::proxy::detail {

/// Longest value Purser adds to a header (a bound on merchant text that reaches an agent).
inline constexpr std::size_t max_added_header_value = 512;

/// `text` made safe as a header value: every control character (CR, LF, NUL and the rest of
/// C0, and DEL) becomes a space, leading and trailing whitespace is trimmed, and the result is
/// cut to max_added_header_value bytes.
[[nodiscard]] std::string safe_header_value(std::string_view text);

/// True for names the proxy reserves for itself ("Purser-*", any case): a merchant's headers
/// with such names never reach the agent, so an agent can trust what they say.
[[nodiscard]] bool is_purser_header(std::string_view name);

}  // namespace purser::proxy::detail
