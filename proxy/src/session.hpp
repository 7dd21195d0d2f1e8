// One agent connection speaking HTTP/1.1. It starts plain (absolute-form requests and CONNECT);
// an intercepted CONNECT turns the same connection into TLS, after which its requests are
// origin-form and go to the tunnel's host.
//
// Completion-handler style (STYLE §4): the session lives in a shared_ptr kept alive by its
// pending operations and runs on one worker's io_context, whose single thread also runs its
// origin connections (taken from that worker's pool), so nothing inside needs a lock or a
// strand. The payment hook runs on the server's payment pool and posts back to the worker.
//
// The member functions are spread over files by stage: session_request.cpp (the agent's
// request), session_upstream.cpp (the origin connection and the request sent on it),
// session_response.cpp (the origin's answer, the 402 hand-off, the relay), session_connect.cpp
// (CONNECT), session_reply.cpp (errors, logging, endings). The request in progress is an
// `exchange` (exchange.hpp) whose phase every stage moves on explicitly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asio.hpp"
#include "either_stream.hpp"
#include "exchange.hpp"
#include "purser/proxy/detail/framing.hpp"
#include "purser/proxy/detail/http_util.hpp"
#include "purser/proxy/detail/wire_head.hpp"
#include "server_state.hpp"
#include "upstream.hpp"

namespace purser::proxy {

/// What the agent's read buffer holds while the connection waits for a request: enough for a
/// typical request head in one read; a larger head grows it. A body read reserves io_chunk
/// (Beast reads at most a flat_buffer's free capacity, at least 512 bytes, and a body parser
/// keeps that buffer empty, so an unreserved buffer would relay a large body 512 bytes per
/// system call), and the connection gives that back when it goes idle again.
inline constexpr std::size_t idle_read_size = 2048;

class session : public session_base, public std::enable_shared_from_this<session> {
public:
    session(server::impl& srv, io_worker& worker, tcp_stream stream);
    ~session() override;
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void start();

    void on_stop() override;

private:

    [[nodiscard]] bool intercepted() const { return tunnel_.has_value(); }
    /// The relay buffer (io_chunk bytes), taken from the worker on first use in an exchange.
    [[nodiscard]] char* chunk() {
        if (!chunk_) chunk_ = worker_.take_chunk();
        return chunk_.get();
    }
    /// Between requests: the relay buffer goes back to the worker, the read buffer shrinks to
    /// what it holds, and the last exchange's parsers and serializers are freed.
    void release_idle_memory();

    // session_request.cpp: the agent's request
    void do_read_request();
    /// Reads until the request line is in, so a later HTTP/1 minor version can be served as 1.1.
    void do_read_request_line();
    void on_read_header(boost::system::error_code ec);
    /// Where the request goes: ex_.dest from the target (and, on a plain connection, the
    /// credentials). False when an error answer was already sent.
    bool route_request(http::request<http::buffer_body>& req);
    [[nodiscard]] static std::optional<detail::framing_refusal> check_framing(
        const http::request<http::buffer_body>& req);
    /// Header names a backend could read differently (see config::underscore_headers): drops
    /// them, or returns why the request is refused.
    [[nodiscard]] std::optional<std::string> check_header_names(
        http::request<http::buffer_body>& req);
    /// GET or HEAD with a body: refused unless the host is in allow_get_body_hosts.
    [[nodiscard]] std::optional<std::string> check_get_body(
        const http::request<http::buffer_body>& req);
    /// The request framed by the chunked coding, as it will be forwarded (see the definition);
    /// returns why it cannot be, which refuses it.
    [[nodiscard]] std::optional<std::string> reframe_chunked_request();
    /// After the framing checks: route, check, clean the head, then read (or stream) the body.
    void route_and_read_body(http::request<http::buffer_body>& req);
    void prepare_forwarded_request(http::request<http::buffer_body>& req);
    bool authenticate(const http::request<http::buffer_body>& req);
    void start_body();
    void do_read_body();
    void on_read_body(boost::system::error_code ec);
    void on_body_complete();
    [[nodiscard]] request_info make_info() const;

    // session_upstream.cpp: the origin connection and the request on it
    /// The addresses of ex_.request.dest: an IP literal as it is, a name from the worker's
    /// dns_cache or else looked up (and remembered). `next` runs on this worker's thread.
    void resolve_origin(std::function<void(boost::system::error_code,
                                           const std::vector<tcp::endpoint>&)> next);
    [[nodiscard]] std::string pool_key() const;
    /// The agent's request is read (or streams): it goes to the origin.
    void forward_request();
    /// Sends the request (the first pass, or the paid retry) on a pooled or new connection; a
    /// paid retry on the 402's own connection when on_plan kept it (keep_402_connection).
    void start_upstream();
    /// Whether the connection that carried the 402 can carry the paid retry: the 402 was read
    /// whole, kept alive, nothing follows it, and the origin has not closed it meanwhile.
    [[nodiscard]] bool keep_402_connection();
    void on_upstream_connect(boost::system::error_code ec);
    void start_upstream_tls();
    void send_request();
    void on_send_failed(boost::system::error_code ec);
    void start_upstream_fresh();
    void stream_request_next();
    void stream_request_write();
    void release_upstream();
    void upstream_failed(http::status status, std::string why);

    // session_response.cpp: the origin's answer
    void read_response_header();
    void on_response_header(boost::system::error_code ec);
    void report_paid_response();
    void retry_paid(payment_plan plan);
    void read_402_body();
    void ask_hook();
    void on_plan(payment_plan plan);
    void send_buffered_402(std::uint64_t retry_after_s = 0,
                           std::chrono::milliseconds hold = std::chrono::milliseconds{0});
    void start_response();
    void relay_next();
    void relay_write();
    void on_response_done();

    // session_connect.cpp
    void start_connect();
    void connect_tunnel_origin();
    void send_connect_ok(bool intercept);
    void become_intercepted();
    /// Reads until the tunnel's first bytes say TLS or plain HTTP (see detail::sniff_tunnel).
    void do_sniff_tunnel();
    /// TLS in an intercepted tunnel with no CA to mint its certificate: an alert, then close.
    void refuse_tunnel_tls();
    void start_tunnel_tls();
    void become_tunnel();

    // session_reply.cpp: answers of the proxy's own, logging, endings
    void send_407(std::string why);
    void send_error(http::status status, std::string why, bool force_close);
    void write_plain(std::shared_ptr<http::response<http::string_body>> res, std::string why,
                     bool force_close);
    /// Writes a response held whole in memory, then ends the exchange.
    void send_complete(std::shared_ptr<http::response<http::string_body>> res);
    void log_exchange();
    /// How the exchange ended, for purser_requests_total.
    [[nodiscard]] request_outcome outcome() const;
    void finish_exchange(bool keep_alive);
    void abort_both();
    void close_client(bool drain = false);
    void do_drain();

    server::impl& srv_;
    io_worker& worker_;
    /// The configuration when this connection was accepted: a SIGHUP reload applies to
    /// connections accepted after it, never halfway through an exchange.
    std::shared_ptr<const config> cfg_;
    either_stream client_;
    // The agent's address and port, logged as `client`: which requests shared one connection
    // (keep-alive, a CONNECT tunnel) is otherwise invisible in the access log.
    std::string client_endpoint_;
    beast::flat_buffer buffer_;
    tcp_resolver resolver_;
    std::optional<http::request_parser<http::buffer_body>> req_parser_;
    std::optional<http::request_serializer<http::buffer_body>> req_sr_;
    std::optional<http::response_parser<http::buffer_body>> res_parser_;
    /// What goes to the agent ahead of the next body piece: the response head (see
    /// detail::append_response_head), a chunk size line. Kept between exchanges for its capacity.
    std::string wire_;
    std::unique_ptr<upstream> up_;
    std::unique_ptr<tcp_stream> tunnel_up_;  // a non-intercepted CONNECT's origin
    std::shared_ptr<ssl::context> leaf_ctx_;        // the intercepted host's certificate
    std::unique_ptr<char[]> chunk_;  // one piece of a body being relayed; see chunk()
    exchange ex_;  // the request in progress; reset for each new request
    std::string tunnel_agent_;             // the agent that opened the intercepted tunnel
    std::optional<detail::origin> tunnel_; // set once the connection is an intercepted tunnel
                                           // (tls false: plain HTTP inside the tunnel)
    bool idle_ = false;
    bool stopping_ = false;
    bool closed_ = false;
};

namespace detail {

/// "1.1 purser" appended to an existing Via value.
[[nodiscard]] std::string append_via(const std::string& existing);
[[nodiscard]] std::string field_value(const http::fields& f, std::string_view name);
[[nodiscard]] header_list to_header_list(const http::fields& f);
/// Removes every Purser-* header the origin sent (an agent must be able to trust them), then
/// adds `ours`, each value through safe_header_value: the only way the proxy adds headers to an
/// agent's answer.
void set_purser_headers(http::fields& f, const header_list& ours);

/// Points a buffer_body at what comes next when relaying a body: the buffered `prefix` once,
/// then the end of the body when the parser is done. False when the next piece must be read.
bool next_buffered_piece(http::buffer_body::value_type& body, std::string& prefix,
                         bool& prefix_sent, bool parser_done);

}  // namespace detail

}  // namespace purser::proxy
