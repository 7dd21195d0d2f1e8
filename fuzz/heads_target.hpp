// The forwarded-head fuzz target (proxy/detail/wire_head.hpp), shared by the libFuzzer entry point
// and the replay test in tests/proxy. Input: one byte whose low bit says request (1) or response
// (0), then a message head as an agent or an origin might send it. What Beast's parser accepts is
// stripped of hop-by-hop fields and written by the proxy's own head writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include "purser/proxy/detail/http_util.hpp"
#include "purser/proxy/detail/wire_head.hpp"

namespace purser::fuzz {

namespace heads_detail {

namespace http = boost::beast::http;

/// The head Beast's parser reads from `text`, if it reads one.
template <bool isRequest>
bool parse_head(std::string_view text, http::message<isRequest, http::empty_body>& out) {
    http::parser<isRequest, http::empty_body> p;
    p.header_limit(16384);
    p.eager(false);
    if constexpr (!isRequest) p.skip(true);
    boost::system::error_code ec;
    p.put(boost::asio::buffer(text.data(), text.size()), ec);
    if (ec || !p.is_header_done()) return false;
    out = p.release();
    return true;
}

template <bool isRequest>
std::string beast_head(http::message<isRequest, http::empty_body>& m) {
    http::serializer<isRequest, http::empty_body> sr(m);
    sr.split(true);
    std::string out;
    boost::system::error_code ec;
    while (!ec && !sr.is_header_done()) {
        sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
            out += boost::beast::buffers_to_string(buffers);
            sr.consume(boost::beast::buffer_bytes(buffers));
        });
    }
    return out;
}

template <bool isRequest>
bool check(std::string_view text) {
    http::message<isRequest, http::empty_body> m;
    if (!parse_head(text, m)) return true;  // refused before the proxy's code sees it
    proxy::detail::strip_hop_by_hop(m.base());
    for (const auto& field : m.base()) {
        // Nothing hop-by-hop survives (Connection's own tokens are gone with it).
        if (proxy::detail::is_hop_by_hop(field.name_string(), {})) return false;
    }
    std::string ours;
    if constexpr (isRequest) proxy::detail::append_request_head(ours, m.base());
    else proxy::detail::append_response_head(ours, m.base());
    // Byte for byte what Beast would have written, and a head Beast reads back whole, with the
    // same fields.
    if (ours != beast_head(m)) return false;
    http::message<isRequest, http::empty_body> again;
    if (!parse_head(ours, again)) return false;
    return std::distance(again.base().begin(), again.base().end()) ==
           std::distance(m.base().begin(), m.base().end());
}

}  // namespace heads_detail

/// False when an invariant breaks (see heads_detail::check).
inline bool heads_target(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return true;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    return (data[0] & 1) != 0 ? heads_detail::check<true>(text) : heads_detail::check<false>(text);
}

}  // namespace purser::fuzz
