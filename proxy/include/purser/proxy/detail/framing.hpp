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
/// a Content-Length field is present. Returns nullopt when the request may be forwarded: no
/// Transfer-Encoding, or a coding list whose final coding is `chunked` (RFC 9112 §6.3: the body
/// is framed by the chunked coding, whatever was applied before it). Otherwise, in this order:
/// - 400 when Content-Length and Transfer-Encoding are both present: a request smuggling signal
///   (RFC 9112 §6.1 lets TE win, but a proxy and an origin that disagree on that is the attack);
/// - 400 when the coding list is empty or `chunked` is present but not the final coding: the body
///   length cannot be determined (RFC 9112 §6.3);
/// - 501 when the final coding is not `chunked` (gzip, identity, "xchunked"): nothing frames the
///   body, and the proxy does not guess (RFC 9112 §6.1 allows 501 for such a coding);
/// - 400 when a coding before `chunked` is not a token ("gzip", `gzip/1`);
/// - 501 when a coding before `chunked` carries a parameter (`gzip;level=1`): none of the
///   registered codings defines one, and the proxy forwards bare coding names only.
/// `chunked`'s own parameters (`chunked;custom_param`) are ignored: the proxy decodes the chunking
/// itself and forwards a chunking of its own, so they never reach the origin.
[[nodiscard]] std::optional<framing_refusal> check_request_framing(
    const std::vector<std::string_view>& transfer_encodings, bool has_content_length);

/// The Transfer-Encoding value to forward for a request check_request_framing accepted: the
/// codings applied before the final `chunked`, in order, lower-cased, `identity` (no coding at
/// all) and empty parameters left out, then `chunked` for the proxy's own chunking
/// ("gzip, deflate, chunked"). Just "chunked" when nothing else was applied. The origin receives
/// the codings it still has to undo, never the agent's spelling of them.
[[nodiscard]] std::string forwarded_transfer_encoding(
    const std::vector<std::string_view>& transfer_encodings);

/// True for a header name that is not Content-Length or Transfer-Encoding but that a backend
/// would read as one after mapping '_' to '-' and squeezing runs of '-' (`Content_Length`,
/// `Transfer---Encoding`, `transfer-encoding_`): forwarded, it could frame the body differently
/// at the origin than at the proxy, and desynchronise a shared upstream connection.
[[nodiscard]] bool is_framing_look_alike(std::string_view name);

}  // namespace purser::proxy::detail
