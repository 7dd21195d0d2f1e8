// A forwarded message's head as bytes on the wire, written in one pass into one buffer, and the
// chunk framing of the body pieces that follow it. Beast's serializer yields the same bytes as a
// sequence of small buffers (three per status line, one per field, more per body piece) walked
// by nested iterators and then copied flat again for TLS: on a relayed 1 KiB answer that walk
// took more instructions than parsing the answer (callgrind, bench/results/2026-12-03-wire.md).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>

namespace purser::proxy::detail {

/// Removes the hop-by-hop fields of a message about to be forwarded (see is_hop_by_hop), the
/// Connection fields included, in one pass and without allocating.
void strip_hop_by_hop(boost::beast::http::fields& fields);

/// Appends `head` as Beast's serializer would write it: the status line (the origin's reason
/// phrase, or the standard one when it sent none), every field in order as stored, and the blank
/// line that ends the head. The fields are written as they are: Beast's parser accepted them and
/// every value the proxy sets has been through safe_header_value.
void append_response_head(std::string& out, const boost::beast::http::response_header<>& head);

/// Appends `head` as Beast's serializer would write it: the request line (method, target,
/// version) and the fields, as append_response_head does.
void append_request_head(std::string& out, const boost::beast::http::request_header<>& head);

/// Frames one piece of a chunked body: appends to `out` the size line of a chunk of `size` bytes
/// (lower-case hex, CRLF), or, for an empty piece that ends the body, the last chunk. Returns what
/// must follow the piece's data: CRLF, and the last chunk too (no trailer) when `last`; nothing
/// for an empty piece.
[[nodiscard]] std::string_view append_chunk_framing(std::string& out, std::size_t size, bool last);

}  // namespace purser::proxy::detail
