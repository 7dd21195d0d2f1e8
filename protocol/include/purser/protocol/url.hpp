// Hosts, authorities, http(s) URLs and host patterns: the one place where Purser decides what a
// host name means, so the proxy that connects, the policy that allows or denies and the ledger
// that records all see the same text for the same destination.
//
// Why canonical hosts: a resolver reads "127.1", "2130706433", "0x7f000001" and "0177.0.0.1" as
// 127.0.0.1 (inet_aton rules), so a policy that compares host text would let an agent around
// "deny 127.0.0.1" by spelling the address differently. Every host is therefore turned into one
// spelling before anything compares it, and numeric text that is not exactly one address is
// refused rather than guessed at.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "purser/protocol/result.hpp"

namespace purser::protocol {

/// The canonical spelling of a host:
/// - a registered name: lower case, one trailing dot (the DNS root) removed; only letters,
///   digits, '-', '_' and '.'; no empty label, labels of at most 63 and names of at most 253
///   characters; no percent-encoding;
/// - IPv4 in any form inet_aton accepts (1 to 4 parts, each decimal, 0x hex or 0-led octal:
///   "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1"): dotted-quad "127.0.0.1";
/// - an IPv6 literal, with or without brackets: RFC 5952 text without brackets ("::1",
///   "2001:db8::1"). An IPv4-mapped address (::ffff:0:0/96) becomes its IPv4 dotted-quad,
///   because the kernel delivers a connection to it at that IPv4 address, so a policy must see
///   the same host. Zone ids ("fe80::1%eth0") are refused.
/// Text whose last label starts with a digit is numeric: it must be a valid IPv4 address in one
/// of the forms above, else it is refused ("256.1.1.1", "1.2.3.4.5", "0x1g", "08.1.1.1"),
/// because a resolver or another client might read it as some address the policy never saw.
/// No top-level domain starts with a digit, so no public name is lost.
/// The result is a fixed point: canonical_host(canonical_host(x)) == canonical_host(x).
/// Errors: invalid_host, with a detail naming the problem.
[[nodiscard]] result<std::string> canonical_host(std::string_view text);

/// True when `host` (canonical) is an IPv6 literal, which needs brackets in an authority.
[[nodiscard]] bool is_ipv6_host(std::string_view host) noexcept;

/// "host:port", with brackets around an IPv6 `host` (canonical).
[[nodiscard]] std::string format_authority(std::string_view host, std::uint16_t port);

/// A parsed authority ("host", "host:port", "[v6]:port").
struct host_port {
    std::string host;                   ///< canonical_host(), without brackets.
    std::optional<std::uint16_t> port;  ///< Absent when the text has none (or "host:").
};

/// Parses an authority as CONNECT and the Host header carry it: a host as canonical_host()
/// accepts, IPv6 in brackets, an optional port of 1 to 65535 in decimal. Userinfo is refused.
/// Errors: invalid_url (shape, brackets, port), invalid_host (the host itself).
[[nodiscard]] result<host_port> parse_authority(std::string_view text);

/// An absolute http or https URL, split as a client sends it.
struct url {
    std::string scheme;        ///< "http" or "https", lower case.
    std::string host;          ///< canonical_host(), without brackets.
    std::uint16_t port = 0;    ///< The explicit port, or the scheme's default (80, 443).
    std::string target = "/";  ///< Origin-form path and query; the fragment is dropped.

    [[nodiscard]] bool tls() const noexcept { return scheme == "https"; }
    /// "host:port", brackets around IPv6: the Host header value and a connection pool key.
    [[nodiscard]] std::string authority() const;
};

/// Parses "http[s]://host[:port][/path][?query][#fragment]" (scheme case-insensitive).
/// Refused: other schemes, userinfo ("user:pw@host": credentials are never forwarded, and
/// "a@b" is a classic way to make a reader see the wrong host), hosts canonical_host() refuses,
/// ports outside 1..65535, and spaces, control characters or non-ASCII bytes in the target.
/// A target that starts with '?' gets a leading '/'; an empty one is "/".
/// Errors: invalid_url, invalid_host.
[[nodiscard]] result<url> parse_url(std::string_view text);

/// True for a host pattern Purser stores or configures:
/// - "*": every host;
/// - "*.suffix": strict subdomains of a registered name (not of an IP address);
/// - anything canonical_host() accepts: that host exactly ("127.1", "LOCALHOST.", "[::1]").
[[nodiscard]] bool valid_host_pattern(std::string_view pattern);

/// Whether `host`, already canonical (canonical_host() or a parsed url/authority), matches
/// `pattern` as valid_host_pattern() describes. The pattern is canonicalised here, so patterns
/// may be written in any accepted spelling; an invalid pattern matches nothing.
[[nodiscard]] bool host_pattern_matches(std::string_view pattern, std::string_view host);

}  // namespace purser::protocol
