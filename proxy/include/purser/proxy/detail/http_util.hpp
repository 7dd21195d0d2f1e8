// Socket-free helpers of the proxy server: URL and authority parsing (on protocol/url.hpp), proxy
// credentials, intercept lists, hop-by-hop headers and log redaction. Kept apart from the Beast
// code so they are unit-tested directly and compile fast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "purser/protocol/result.hpp"

namespace purser::proxy::detail {

/// Where a request goes.
struct origin {
    bool tls = false;
    std::string host;          ///< protocol::canonical_host(), without brackets.
    std::uint16_t port = 0;
    std::string target = "/";  ///< Origin-form path and query, sent upstream.

    /// "host:port", with brackets around an IPv6 literal: the pool key and Host header value.
    [[nodiscard]] std::string authority() const;
    /// "http://host:port/path?q" (or https).
    [[nodiscard]] std::string url() const;
};

/// Parses an absolute-form request target ("http://host[:port]/path?q") with
/// protocol::parse_url, so the host is canonical ("127.1" is "127.0.0.1") and numeric hosts that
/// are not exactly one address are refused. Only http is accepted on a plain proxy connection
/// (https goes through CONNECT). Errors: invalid_url, with a one-line detail for a 400.
[[nodiscard]] result<origin> parse_absolute_url(std::string_view text);

/// Parses a CONNECT authority ("host:port", "[v6]:port") with protocol::parse_authority: the
/// host canonical, port 0 when the text has none. Errors: invalid_url, with a one-line detail.
[[nodiscard]] result<std::pair<std::string, std::uint16_t>> parse_authority(std::string_view text);

/// Decodes a `Proxy-Authorization: Basic ...` value into (name, token); nullopt when it is not
/// Basic, not base64, or has no ':'.
[[nodiscard]] std::optional<std::pair<std::string, std::string>> decode_basic(
    std::string_view value);

/// True when some `intercept` pattern matches `host` (canonical) and no `no_intercept` pattern
/// does, by protocol::host_pattern_matches: the same matcher agent policies use.
[[nodiscard]] bool should_intercept(const std::vector<std::string>& intercept,
                                    const std::vector<std::string>& no_intercept,
                                    std::string_view host);

/// Whether header `name` is hop-by-hop in a message with Connection header `connection_value`: one
/// of the fixed RFC 9110 list, or a token Connection names (case-insensitively). Never
/// Transfer-Encoding or Content-Length: Beast frames bodies with them and re-frames on output.
/// Called for every header of every forwarded message, so it allocates nothing.
[[nodiscard]] bool is_hop_by_hop(std::string_view name, std::string_view connection_value);

/// The URL for logs: scheme, authority and path; the query is dropped because API keys and
/// tokens often travel there.
[[nodiscard]] std::string redact_url(std::string_view url);

/// What the first bytes inside an intercepted CONNECT tunnel are: clients such as undici's
/// EnvHttpProxyAgent open a tunnel for http:// URLs too and then speak plain HTTP in it.
enum class tunnel_sniff {
    need_more,  ///< too few bytes to tell
    tls,        ///< a TLS handshake record (0x16 0x03): intercept with the minted leaf
    http,       ///< an HTTP/1.x request line (a method token, then a space)
    unknown,    ///< neither: the proxy cannot serve it
};
[[nodiscard]] tunnel_sniff sniff_tunnel(std::string_view first_bytes);

/// RFC 9112 §2.6: a request of a later HTTP/1 minor version is served as HTTP/1.1. Beast 1.74
/// refuses any version above 1.1, so before parsing, "HTTP/1.N" (N from 2 to 9) ending the
/// request line in `bytes` is rewritten in place to "HTTP/1.1". Returns false while `bytes`
/// holds no complete line yet (read more, then call again).
[[nodiscard]] bool rewrite_later_minor_version(char* bytes, std::size_t size);

/// Case-insensitive ASCII equality.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

}  // namespace purser::proxy::detail
