// One request and its answer on an agent connection, as the session carries it: which phase it
// is in, what the agent asked (request_part), what goes back (response_part) and, once the
// payment hook decided to pay, the payment attempt. The payment invariants live in these types:
// a paid retry exists only inside a payment_attempt, whether its bytes may have left is a field
// of that attempt, and the hook hears of each attempt's outcome once.
#pragma once

#include <cassert>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "asio.hpp"
#include "purser/proxy/detail/http_util.hpp"
#include "purser/proxy/payment_hook.hpp"

namespace purser::proxy {

/// Where an exchange is. Each phase names what the session waits for; exchange_can_enter()
/// lists the steps between them.
enum class exchange_phase : std::uint8_t {
    reading_request,     ///< The agent's head and (replayable) body.
    forwarding,          ///< The request on its way to the origin, or waiting for its head.
    awaiting_decision,   ///< A 402 is read and with the payment hook, off the I/O thread.
    paying,              ///< The hook paid: the retry with the payment header is being sent, or
                         ///< its answer's head is with the hook. Only here may a signature leave.
    streaming_response,  ///< An answer goes to the agent: the origin's, or the proxy's own.
    done,                ///< Logged; the connection reads the next request or closes.
};

[[nodiscard]] constexpr bool exchange_can_enter(exchange_phase from, exchange_phase to) {
    using p = exchange_phase;
    if (to == p::done) return from != p::done;  // an abort can end any phase
    switch (from) {
        case p::reading_request: return to == p::forwarding || to == p::streaming_response;
        // forwarding -> forwarding: a pooled connection was stale, and a fresh one is tried.
        case p::forwarding:
            return to == p::forwarding || to == p::awaiting_decision || to == p::streaming_response;
        case p::awaiting_decision: return to == p::paying || to == p::streaming_response;
        // paying -> paying: one more signed retry after a corrective 402 the hook adopted.
        case p::paying: return to == p::paying || to == p::streaming_response;
        case p::streaming_response: return false;
        case p::done: return false;
    }
    return false;
}

/// What the agent sent, and how it goes upstream.
struct request_part {
    std::string agent;
    std::string method;
    std::string url;
    detail::origin dest;
    bool keep_alive = false;          ///< The agent's connection may carry another request.
    bool expect_continue = false;
    bool has_payment_header = false;  ///< The agent pays by itself: a 402 is not ours to pay.
    bool replayable = true;           ///< Buffered whole in `replay`; else streamed once.
    bool no_pool = false;             ///< GET/HEAD body, codings under chunked: unpooled.
    std::string body;                 ///< The body while it is being buffered.
    /// A body too large to replay: the bytes read before that was known go first, then the rest
    /// streams from the agent. streamed_bytes counts what went.
    std::string prefix;
    bool prefix_sent = false;
    std::size_t streamed_bytes = 0;
    http::request<http::string_body> replay;  ///< The buffered request, sent again byte for byte.
    /// The origin address the unpaid request was sent to: the paid retry connects there, to the
    /// server that quoted the price, with no second name lookup.
    std::optional<tcp::endpoint> origin_address;
};

/// What goes back to the agent.
struct response_part {
    unsigned status = 0;  ///< The origin's status, or the proxy's own answer's.
    std::string body402;  ///< A 402's body, read whole for the hook.
    /// A 402 body past max_402_body: what was read goes first, then the rest streams.
    std::string prefix;
    bool prefix_sent = false;
    bool head_sent = false;
    bool keep_alive = false;
    /// The agent's copy is chunked (the origin's was, or it ended with the connection): each
    /// body piece goes out with chunk framing, and the body ends with the last chunk.
    bool chunked_out = false;
    std::uint64_t bytes = 0;
};

/// The paid retry: what the hook signed, and what the hook must hear about it.
struct payment_attempt {
    payment_plan plan;
    /// A byte of the paid request may have reached the origin: from then on a failure is
    /// maybe_delivered, never a reason to release the payment.
    bool may_have_left = false;
    bool outcome_reported = false;      ///< The hook heard how this attempt ended.
    bool corrective_retry_sent = false; ///< The one retry after a corrective 402 went out.
};

struct exchange {
    exchange_phase phase = exchange_phase::reading_request;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point upstream_start;  ///< Origin connection begun.
    request_part request;
    response_part response;
    std::optional<payment_attempt> payment;
    request_info info;           ///< What the hook is told about the request.
    header_list extra_headers;   ///< The hook's headers for the agent's answer.
    std::map<std::string, std::string> log_fields;
    bool logged = false;

    /// Moves to `next`. A step exchange_can_enter() does not allow is a bug in the session.
    void enter(exchange_phase next) {
        assert(exchange_can_enter(phase, next));
        phase = next;
    }
    /// The request on the wire is the paid retry.
    [[nodiscard]] bool paying() const { return phase == exchange_phase::paying; }
};

}  // namespace purser::proxy
