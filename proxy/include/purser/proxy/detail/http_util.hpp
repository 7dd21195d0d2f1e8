// Socket-free helpers of the proxy server: URL and authority parsing, proxy credentials, host
// patterns, hop-by-hop headers and log redaction. Kept apart from the Beast code so they are
// unit-tested directly and compile fast.
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
    std::string host;          ///< Without brackets.
    std::uint16_t port = 0;
    std::string target = "/";  ///< Origin-form path and query, sent upstream.

    /// "host:port", with brackets around an IPv6 literal: the pool key and Host header value.
    [[nodiscard]] std::string authority() const;
    /// "http://host:port/path?q" (or https).
    [[nodiscard]] std::string url() const;
};

/// Parses an absolute-form request target ("http://host[:port]/path?q"). Only http is accepted
/// on a plain proxy connection (https goes through CONNECT). Errors: invalid_url.
[[nodiscard]] result<origin> parse_absolute_url(std::string_view text);

/// Parses a CONNECT authority ("host:port", "[v6]:port"). Errors: invalid_url.
[[nodiscard]] result<std::pair<std::string, std::uint16_t>> parse_authority(std::string_view text);

/// Decodes a `Proxy-Authorization: Basic ...` value into (name, token); nullopt when it is not
/// Basic, not base64, or has no ':'.
[[nodiscard]] std::optional<std::pair<std::string, std::string>> decode_basic(
    std::string_view value);

/// "*" matches everything, "*.example.com" matches strict subdomains, anything else matches
/// that host exactly; case-insensitive.
[[nodiscard]] bool host_matches(std::string_view pattern, std::string_view host);

/// True when some `intercept` pattern matches and no `no_intercept` pattern does.
[[nodiscard]] bool should_intercept(const std::vector<std::string>& intercept,
                                    const std::vector<std::string>& no_intercept,
                                    std::string_view host);

/// The hop-by-hop header names to remove from a message whose Connection header is
/// `connection_value`: the fixed RFC 9110 list plus every token Connection names (lower case).
/// Transfer-Encoding is not in the list: Beast frames bodies with it and re-frames on output.
[[nodiscard]] std::vector<std::string> hop_by_hop_names(std::string_view connection_value);

/// The URL for logs: scheme, authority and path; the query is dropped because API keys and
/// tokens often travel there.
[[nodiscard]] std::string redact_url(std::string_view url);

/// Case-insensitive ASCII equality.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

}  // namespace purser::proxy::detail
