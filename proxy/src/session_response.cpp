// The origin's answer: a 402 goes to the payment hook (off the I/O threads), a paid retry's
// head is reported before the agent sees it, and everything else streams through as it arrives.
#include <array>
#include <limits>
#include <utility>

#include <boost/asio/post.hpp>

#include "purser/proxy/detail/wire_head.hpp"
#include "session.hpp"

namespace purser::proxy {

void session::read_response_header() {
    res_parser_.emplace();
    res_parser_->header_limit(static_cast<std::uint32_t>(cfg_->max_header_bytes));
    res_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // see the request parser
    if (ex_.request.method == "HEAD") res_parser_->skip(true);
    up_->stream.lowest().expires_after(ms(cfg_->upstream_timeout_ms));
    up_->stream.visit([&](auto& s) {
        http::async_read_header(s, up_->buffer, *res_parser_,
                                [self = shared_from_this()](boost::system::error_code ec,
                                                            std::size_t) {
                                    self->on_response_header(ec);
                                });
    });
}

void session::on_response_header(boost::system::error_code ec) {
    if (ec) {
        const bool nothing_came = ec == http::error::end_of_stream || ec == net::error::eof ||
                                  ec == net::error::connection_reset;
        if (nothing_came && up_->reused && ex_.request.replayable && !ex_.paying()) {
            up_.reset();
            return start_upstream_fresh();
        }
        if (ec == beast::error::timeout)
            return upstream_failed(http::status::gateway_timeout,
                                   ex_.request.dest.authority() + " did not answer within " +
                                       std::to_string(cfg_->upstream_timeout_ms) + " ms");
        if (ec == http::error::header_limit)
            return upstream_failed(http::status::bad_gateway, "response headers from " +
                                                                  ex_.request.dest.authority() +
                                                                  " are too large");
        return upstream_failed(http::status::bad_gateway,
                               "bad response from " + ex_.request.dest.authority() + ": " + ec.message());
    }
    ex_.response.status = res_parser_->get().result_int();
    if (srv_.stats) srv_.stats->observe_upstream(std::chrono::steady_clock::now() - ex_.upstream_start);
    if (ex_.paying()) return report_paid_response();
    if (ex_.response.status == 402 && !ex_.request.has_payment_header) {
        ex_.enter(exchange_phase::awaiting_decision);
        if (!res_parser_->is_done()) return read_402_body();
        return ask_hook();
    }
    start_response();
}

/// The hook learns how the paid retry went before the agent sees anything.
void session::report_paid_response() {
    ex_.payment->outcome_reported = true;
    net::post(srv_.workers, [self = shared_from_this()] {
        auto outcome = self->srv_.hook->on_paid_response(
            self->ex_.payment->plan, self->ex_.info, self->ex_.response.status,
            detail::to_header_list(self->res_parser_->get().base()));
        net::post(self->client_.get_executor(), [self, outcome = std::move(outcome)]() mutable {
            for (auto& f : outcome.log_fields) self->ex_.log_fields[f.first] = f.second;
            if (outcome.retry && !self->ex_.payment->corrective_retry_sent) return self->retry_paid(std::move(*outcome.retry));
            for (auto& h : outcome.add_response_headers)
                self->ex_.extra_headers.push_back(std::move(h));
            self->start_response();
        });
    });
}

/// The hook recovered from the paid retry's 402 and signed once more: that 402 is dropped with
/// its connection (its body was never read), and the request goes out again with the new plan.
void session::retry_paid(payment_plan plan) {
    up_.reset();
    ex_.enter(exchange_phase::paying);
    ex_.payment = payment_attempt{std::move(plan), false, false, true};
    for (const auto& [name, value] : ex_.payment->plan.add_request_headers) ex_.request.replay.set(name, value);
    ex_.response.status = 0;
    start_upstream();
}

void session::read_402_body() {
    auto& body = res_parser_->get().body();
    body.data = chunk();
    body.size = io_chunk;
    up_->stream.lowest().expires_after(ms(cfg_->upstream_timeout_ms));
    up_->stream.visit([&](auto& s) {
        http::async_read_some(s, up_->buffer, *res_parser_, [self = shared_from_this()](
                                                                 boost::system::error_code ec,
                                                                 std::size_t) {
            if (ec == http::error::need_buffer) ec = {};
            if (ec == beast::error::timeout)
                return self->upstream_failed(
                    http::status::gateway_timeout,
                    "402 body from " + self->ex_.request.dest.authority() + " timed out");
            if (ec)
                return self->upstream_failed(http::status::bad_gateway,
                                             "reading 402 body: " + ec.message());
            auto& b = self->res_parser_->get().body();
            self->ex_.response.body402.append(self->chunk(), io_chunk - b.size);
            if (self->ex_.response.body402.size() > self->cfg_->max_402_body) {
                // Not an x402 answer we could parse anyway: stream it on unchanged.
                self->ex_.log_fields["note"] = "402 body over max_402_body, not inspected";
                self->ex_.response.prefix = std::move(self->ex_.response.body402);
                self->ex_.response.prefix_sent = false;
                self->ex_.response.body402.clear();
                return self->start_response();
            }
            if (self->res_parser_->is_done()) return self->ask_hook();
            self->read_402_body();
        });
    });
}

void session::ask_hook() {
    ex_.info = make_info();
    net::post(srv_.workers, [self = shared_from_this()] {
        upstream_response r;
        r.status = self->ex_.response.status;
        r.headers = detail::to_header_list(self->res_parser_->get().base());
        r.body = self->ex_.response.body402;
        // The plan may come later, from another thread (an IOU channel busy with a voucher).
        self->srv_.hook->on_payment_required_async(self->ex_.info, r, [self](payment_plan plan) {
            net::post(self->client_.get_executor(), [self, plan = std::move(plan)]() mutable {
                self->on_plan(std::move(plan));
            });
        });
    });
}

void session::on_plan(payment_plan plan) {
    for (auto& f : plan.log_fields) ex_.log_fields[f.first] = f.second;
    switch (plan.what) {
        case payment_plan::action::pass_through: ex_.log_fields["decision"] = "pass_through"; break;
        case payment_plan::action::decline: ex_.log_fields["decision"] = "declined"; break;
        case payment_plan::action::pay: ex_.log_fields["decision"] = "pay"; break;
    }
    if (plan.what != payment_plan::action::pay) {
        ex_.extra_headers = std::move(plan.add_response_headers);
        return send_buffered_402(plan.retry_after_s, plan.hold);
    }
    ex_.payment = payment_attempt{std::move(plan)};
    ex_.enter(exchange_phase::paying);
    if (!ex_.request.replayable) {
        ex_.payment->outcome_reported = true;
        net::post(srv_.workers, [self = shared_from_this()] {
            auto outcome = self->srv_.hook->on_paid_failure(
                self->ex_.payment->plan, self->ex_.info, delivery::not_sent,
                "request body larger than max_replay_body");
            net::post(self->client_.get_executor(),
                      [self, outcome = std::move(outcome)]() mutable {
                          self->ex_.extra_headers = std::move(outcome.add_response_headers);
                          for (auto& f : outcome.log_fields)
                              self->ex_.log_fields[f.first] = f.second;
                          self->send_buffered_402();
                      });
        });
        return;
    }
    // The 402 was read completely: its connection carries the paid retry (no new TCP or TLS
    // handshake, for the proxy or the merchant), or else goes back to the pool when it may.
    if (!keep_402_connection()) {
        if (res_parser_->keep_alive()) release_upstream();
        else up_.reset();
    }
    for (const auto& [name, value] : ex_.payment->plan.add_request_headers) ex_.request.replay.set(name, value);
    ex_.response.status = 0;
    start_upstream();
}

/// The origin's 402, complete and unchanged, plus the hook's headers; with `retry_after_s`, its
/// Retry-After replaced, and sent `hold` later (the origin's connection is free meanwhile).
void session::send_buffered_402(std::uint64_t retry_after_s, std::chrono::milliseconds hold) {
    auto& src = res_parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->base() = src.base();
    detail::strip_hop_by_hop(res->base());
    res->erase(http::field::transfer_encoding);
    res->erase(http::field::content_length);
    detail::set_purser_headers(res->base(), ex_.extra_headers);
    res->set(http::field::via, detail::append_via(detail::field_value(res->base(), "via")));
    if (retry_after_s > 0) res->set(http::field::retry_after, std::to_string(retry_after_s));
    res->body() = std::move(ex_.response.body402);
    res->version(11);
    res->prepare_payload();
    const bool upstream_reusable = res_parser_->keep_alive();
    res->keep_alive(ex_.request.keep_alive && !stopping_);
    if (upstream_reusable) release_upstream();
    else up_.reset();
    if (hold.count() <= 0) return send_complete(std::move(res));
    auto timer = std::make_shared<steady_timer>(client_.get_executor());
    timer->expires_after(hold);
    timer->async_wait([self = shared_from_this(), timer, res = std::move(res)](boost::system::error_code) mutable {
        // Sent when the server stops too: the agent gets its answer, only sooner.
        self->send_complete(std::move(res));
    });
}

/// Streams the response head and body to the agent as they arrive.
void session::start_response() {
    auto& res = res_parser_->get();
    const bool no_body = res_parser_->is_done() && ex_.response.prefix.empty();
    const bool close_delimited = !no_body && !res.has_content_length() && !res.chunked();
    detail::strip_hop_by_hop(res.base());
    detail::set_purser_headers(res.base(), ex_.extra_headers);
    res.set(http::field::via, detail::append_via(detail::field_value(res.base(), "via")));
    res.version(11);
    // A body that ends with the origin's connection is re-framed as chunked, so the agent's
    // connection can stay open and still see where it ends.
    if (close_delimited) res.chunked(true);
    res.keep_alive(ex_.request.keep_alive && !stopping_);
    ex_.response.keep_alive = res.keep_alive();
    ex_.response.chunked_out = res.chunked();
    wire_.clear();
    detail::append_response_head(wire_, res.base());
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    ex_.enter(exchange_phase::streaming_response);
    ex_.response.head_sent = true;
    const bool head_only = no_body && ex_.request.method == "HEAD";
    // Body bytes already at hand (a buffered prefix, what arrived with the head, or the end of
    // the body) go out in the same write as the head: one system call per small answer, not
    // two. Otherwise the head goes first, so an agent waiting on a slow body sees it at once.
    const bool body_at_hand = !ex_.response.prefix.empty() || res_parser_->is_done() ||
                              (up_ && up_->buffer.size() != 0);
    if (!head_only && body_at_hand) return relay_next();
    client_.visit([&](auto& s) {
        net::async_write(s, net::buffer(wire_), [self = shared_from_this(), head_only](
                                                    boost::system::error_code ec, std::size_t) {
            if (ec) return self->abort_both();
            self->wire_.clear();
            if (head_only) return self->on_response_done();
            self->relay_next();
        });
    });
}

void session::relay_next() {
    auto& p = *res_parser_;
    const bool prefix_pending = !ex_.response.prefix.empty() && !ex_.response.prefix_sent;
    if (detail::next_buffered_piece(p.get().body(), ex_.response.prefix, ex_.response.prefix_sent, p.is_done())) {
        if (prefix_pending) ex_.response.bytes += ex_.response.prefix.size();
        return relay_write();
    }
    auto& body = p.get().body();
    body.data = chunk();
    body.size = io_chunk;
    up_->stream.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    up_->stream.visit([&](auto& s) {
        http::async_read_some(
            s, up_->buffer, p,
            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec == http::error::need_buffer) ec = {};
                if (ec) {
                    self->ex_.log_fields["error"] = "upstream body: " + ec.message();
                    return self->abort_both();
                }
                auto& b = self->res_parser_->get().body();
                const std::size_t got = io_chunk - b.size;
                // No bytes means no buffer: Beast's chunked serializer would turn a non-null
                // empty buffer into a `0\r\n\r\n` chunk before the real last-chunk.
                b.data = got == 0 ? nullptr : self->chunk();
                b.size = got;
                b.more = !self->res_parser_->is_done();
                self->ex_.response.bytes += got;
                if (got == 0 && b.more) return self->relay_next();
                self->relay_write();
            });
    });
}

/// Writes the body piece the parser's body points at, after whatever wire_ holds (the head, for
/// the first piece), framed as the agent's copy is: one write, one TLS record where it fits.
void session::relay_write() {
    const auto& body = res_parser_->get().body();
    const bool last = !body.more;
    const net::const_buffer data(body.data, body.data == nullptr ? 0 : body.size);
    const std::string_view after =
        ex_.response.chunked_out ? detail::append_chunk_framing(wire_, data.size(), last) : "";
    const std::array<net::const_buffer, 3> pieces{net::buffer(wire_), data,
                                                  net::buffer(after.data(), after.size())};
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    client_.visit([&](auto& s) {
        net::async_write(s, pieces, [self = shared_from_this(), last](boost::system::error_code ec,
                                                                      std::size_t) {
            if (ec) return self->abort_both();
            self->wire_.clear();
            if (last) return self->on_response_done();
            self->relay_next();
        });
    });
}

void session::on_response_done() {
    if (res_parser_->is_done() && up_ && up_->stream.is_tls() && !up_->session_kept) {
        // A whole answer was read, so a TLS 1.3 origin's session ticket has been too: the next
        // new connection to this origin resumes it.
        worker_.origin_sessions.remember(up_->key, up_->stream.tls().native_handle());
        up_->session_kept = true;
    }
    if (res_parser_->is_done() && res_parser_->keep_alive()) release_upstream();
    else up_.reset();
    finish_exchange(ex_.response.keep_alive);
}

}  // namespace purser::proxy
