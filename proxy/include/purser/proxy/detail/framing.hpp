// Request framing checks (RFC 9112 §6): which Transfer-Encoding / Content-Length combinations the
// proxy refuses before anything reaches an origin. Socket-free so it is unit-tested directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace purser::proxy::detail {

/// Why a request's framing is refused: the status to answer and a one-line reason for the agent.
struct framing_refusal {
    unsigned status = 400;  ///< 400 (length cannot be determined) or 501 (coding not implemented).
    std::string why;
};

/// Checks a request's framing headers. `transfer_encodings` holds the value of every
/// Transfer-Encoding field in order (empty when there is none); `has_content_length` says whether
/// a Content-Length field is present. Returns nullopt when the request may be forwarded:
/// no Transfer-Encoding, or exactly the single coding `chunked` (any case, optional whitespace)
/// without Content-Length. Otherwise, in this order:
/// - 400 when Content-Length and Transfer-Encoding are both present: a request smuggling signal
///   (RFC 9112 §6.1 lets TE win, but a proxy and an origin that disagree on that is the attack);
/// - 400 when the coding list is empty or `chunked` is present but not the final coding: the body
///   length cannot be determined (RFC 9112 §6.3);
/// - 501 for any other coding (gzip, deflate, identity, "xchunked", "gzip, chunked", parameters):
///   the proxy implements chunked only (RFC 9112 §6.1).
[[nodiscard]] std::optional<framing_refusal> check_request_framing(
    const std::vector<std::string_view>& transfer_encodings, bool has_content_length);

/// True for a header name that is not Content-Length or Transfer-Encoding but that a backend
/// would read as one after mapping '_' to '-' and squeezing runs of '-' (`Content_Length`,
/// `Transfer---Encoding`, `transfer-encoding_`): forwarded, it could frame the body differently
/// at the origin than at the proxy, and desynchronise a shared upstream connection.
[[nodiscard]] bool is_framing_look_alike(std::string_view name);

}  // namespace purser::proxy::detail
