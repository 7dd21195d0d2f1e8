// The extension point between the proxy's networking and the x402 payment flow.
//
// The server (purser/proxy/server.hpp) owns sockets, parsing, TLS and streaming; it knows nothing
// about money. When an origin answers 402 it asks a payment_hook what to do, and when a paid retry
// is answered it tells the hook how it went. The hook owns every decision and every ledger write.
#pragma once

#include <optional>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace purser::proxy {

/// Header lists keep the order and the exact spelling seen on the wire; names compare
/// case-insensitively (HTTP), values are as received.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// The agent's request as the server will forward (and, when paid, replay) it.
struct request_info {
    std::string agent;        ///< Authenticated agent name (or the --default-agent); never empty.
    std::string method;       ///< "GET", "POST", ...
    std::string url;          ///< Absolute: http://host[:port]/path?q, or https://host:port/path?q
                              ///< for a request that arrived inside an intercepted CONNECT tunnel.
    std::string host;         ///< Origin host name or IP literal (no brackets, no port).
    std::uint16_t port = 0;   ///< Origin port.
    bool tls = false;         ///< True when the origin is reached over TLS (intercepted tunnel).
    header_list headers;      ///< End-to-end request headers as forwarded (hop-by-hop and
                              ///< Proxy-Authorization already removed).
    std::size_t body_size = 0;     ///< Request body bytes (as far as buffered; see below).
    bool body_replayable = true;   ///< False when the body was larger than max_replay_body and was
                                   ///< streamed through, so it cannot be sent a second time.
};

/// The origin's 402 answer. Only 402 responses are buffered; every other status streams through.
struct upstream_response {
    unsigned status = 0;      ///< Always 402 in on_payment_required.
    header_list headers;      ///< As received from the origin.
    std::string body;         ///< The complete 402 body (at most 1 MiB; a longer 402 is passed
                              ///< through without consulting the hook).
};

/// What the hook tells the server to do with a 402.
struct payment_plan {
    enum class action {
        pass_through,  ///< Forward the merchant's 402 to the agent, adding add_response_headers.
        decline,       ///< Same bytes on the wire as pass_through; separate so logs say "declined".
        pay,           ///< Replay the request once with add_request_headers, then report back.
    };
    action what = action::pass_through;
    header_list add_request_headers;   ///< For `pay`: the payment header of the server's x402
                                       ///< version (X-PAYMENT or PAYMENT-SIGNATURE). Never logged.
    header_list add_response_headers;  ///< For pass_through/decline: added to the 402 sent to the
                                       ///< agent, e.g. Purser-Decision. Ignored for `pay`.
    header_list log_fields;            ///< Extra string fields for this request's JSON log line,
                                       ///< e.g. {"decision","declined"}, {"reason","..."},
                                       ///< {"ledger_id","..."}. Must hold no secrets.
    std::uint64_t token = 0;           ///< Opaque to the server; handed back in on_paid_* so the
                                       ///< hook can find its own state (e.g. the reservation).
    /// For decline, an agent over its rate limit: the 402 says when to come back (Retry-After,
    /// in seconds, replacing the merchant's) and goes out no sooner than `hold` later, so an
    /// agent retrying at once on many connections cannot take the machine from the others.
    std::uint64_t retry_after_s = 0;
    std::chrono::milliseconds hold{0};
};

/// Whether any byte of a paid retry reached the network: the fact that decides whether a signed
/// payment may be released at once.
enum class delivery {
    not_sent,         ///< Failed before writing (DNS, connect, TLS handshake, body not replayable).
    maybe_delivered,  ///< Writing had begun: the origin may hold the signature.
};

/// What the hook adds once the paid retry has been answered.
struct paid_outcome {
    header_list add_response_headers;  ///< Added to the retry's response, e.g. Purser-Paid and
                                       ///< Purser-Remaining.
    header_list log_fields;            ///< Merged into the log line, e.g. {"paid","10000"},
                                       ///< {"tx","0x..."}, {"ledger_status","paid"}.
    /// Set when the paid retry was answered by a 402 the hook recovered from (an IOU merchant's
    /// corrective 402 whose signed state it adopted) and it has reserved and signed one more
    /// payment: the server drops that 402 (and this outcome's response headers) and replays the
    /// request once more with this `pay` plan, reporting it like the first. The server follows
    /// at most one such retry per agent request.
    std::optional<payment_plan> retry;
};

/// Threading: every call is made on the server's small worker pool (never on an I/O thread), so
/// it may block on an LMDB commit that syncs or on signing. Calls for different requests run
/// concurrently: implementations must be thread-safe. Calls for one request are sequential.
/// Implementations must not throw; an exception escaping a call is treated as a programmer error.
class payment_hook {
public:
    virtual ~payment_hook() = default;

    /// Has happened: the origin answered 402 to a request that carried neither `X-PAYMENT` nor
    /// `PAYMENT-SIGNATURE` (invariant 3: a request that already carries a payment header, and the
    /// server's own paid retry, never come here). The whole 402 body is buffered in `response`;
    /// nothing has been sent to the agent yet. The hook is called even when
    /// `request.body_replayable` is false; it must then not answer `pay` (it records
    /// body_too_large_to_replay and answers pass_through or decline).
    /// May change: nothing in the request; it returns the plan.
    /// Guaranteed: for pass_through/decline the agent receives the merchant's status, headers and
    /// body unchanged (framing may become Content-Length) plus add_response_headers. For `pay` the
    /// server sends exactly one retry to the same origin over the same scheme, with identical
    /// method, target and body bytes plus add_request_headers (replacing any header of the same
    /// name), and afterwards calls exactly one of on_paid_response or on_paid_failure with this
    /// plan. A `pay` for a non-replayable body is answered with on_paid_failure and the 402 is
    /// passed through, so the hook still reaches a final state.
    virtual payment_plan on_payment_required(const request_info& request,
                                             const upstream_response& response) = 0;

    using plan_callback = std::function<void(payment_plan)>;
    /// What the server calls: on_payment_required with the plan handed to `done`. The default
    /// answers at once. A hook that must wait for another request first (an IOU channel takes
    /// one voucher at a time, in order) keeps copies of the arguments and `done`, returns, and
    /// calls `done` exactly once later from any thread, so no worker thread blocks meanwhile.
    virtual void on_payment_required_async(const request_info& request,
                                           const upstream_response& response, plan_callback done) {
        done(on_payment_required(request, response));
    }

    /// Has happened: the paid retry's response head arrived (any status, 402 included: a second
    /// 402 is recorded here and returned to the agent, never paid again). `headers` are the
    /// origin's response headers (the x402 payment-response header is among them). The body has
    /// not been read yet and will be streamed to the agent after this call returns.
    /// May change: it returns headers to add to the response the agent sees, and log fields.
    /// Guaranteed: called at most once per `pay` plan, and then on_paid_failure is not called.
    virtual paid_outcome on_paid_response(const payment_plan& plan, const request_info& request,
                                          unsigned status, const header_list& headers) = 0;

    /// Has happened: the paid retry produced no response head: DNS/connect/TLS error, upstream
    /// timeout, connection closed, or the body could not be replayed. `delivered` is a fact the
    /// server tracked, not a guess from `why`: not_sent means no byte of the retry was written
    /// (the signature never left the process); maybe_delivered means writing had begun, so the
    /// origin (and its facilitator) may hold the payment. The agent will receive a 502/504 (or,
    /// when not sent, the original 402).
    /// May change: it returns headers for that answer (every answer after a signature says
    /// what became of the payment) and log fields; it records the failure (ledger `in_doubt`,
    /// or release when not sent).
    /// Guaranteed: called at most once per `pay` plan, and then on_paid_response is not called.
    virtual paid_outcome on_paid_failure(const payment_plan& plan, const request_info& request,
                                         delivery delivered, std::string_view why) = 0;
};

/// A hook that never pays: every 402 passes through untouched. Used with --no-payments and until
/// a real payment flow is wired in.
class pass_through_hook final : public payment_hook {
public:
    payment_plan on_payment_required(const request_info&, const upstream_response&) override {
        return {};
    }
    paid_outcome on_paid_response(const payment_plan&, const request_info&, unsigned,
                                  const header_list&) override {
        return {};
    }
    paid_outcome on_paid_failure(const payment_plan&, const request_info&, delivery,
                                 std::string_view) override {
        return {};
    }
};

}  // namespace purser::proxy
