// The proxy's own answers (407, 400, 431, 502, 504 with one plain-text line), the access log
// line, and how an exchange and a connection end.
#include <utility>

#include "purser/proxy/detail/header_value.hpp"
#include "session.hpp"

namespace purser::proxy {

namespace detail {

std::string append_via(const std::string& existing) {
    return existing.empty() ? "1.1 purser" : existing + ", 1.1 purser";
}

std::string field_value(const http::fields& f, std::string_view name) {
    const auto it = f.find(name);
    return it == f.end() ? std::string() : std::string(it->value());
}

header_list to_header_list(const http::fields& f) {
    header_list out;
    for (const auto& h : f) out.emplace_back(std::string(h.name_string()), std::string(h.value()));
    return out;
}

void set_purser_headers(http::fields& f, const header_list& ours) {
    // Collect first: erasing while iterating would invalidate the iterator.
    std::vector<std::string> forged;
    for (const auto& h : f) {
        if (is_purser_header(h.name_string())) forged.emplace_back(h.name_string());
    }
    for (const auto& name : forged) f.erase(name);
    for (const auto& [name, value] : ours) f.insert(name, safe_header_value(value));
}

bool next_buffered_piece(http::buffer_body::value_type& body, std::string& prefix,
                         bool& prefix_sent, bool parser_done) {
    if (!prefix.empty() && !prefix_sent) {
        prefix_sent = true;
        body.data = prefix.data();
        body.size = prefix.size();
        body.more = !parser_done;
        return true;
    }
    if (parser_done) {
        body.data = nullptr;
        body.size = 0;
        body.more = false;
        return true;
    }
    return false;
}

}  // namespace detail

void session::send_407(std::string why) {
    auto res = std::make_shared<http::response<http::string_body>>(
        http::status::proxy_authentication_required, 11);
    res->set(http::field::proxy_authenticate, "Basic realm=\"purser\"");
    write_plain(std::move(res), std::move(why), false);
}

void session::send_error(http::status status, std::string why, bool force_close) {
    write_plain(std::make_shared<http::response<http::string_body>>(status, 11), std::move(why),
                force_close);
}

void session::write_plain(std::shared_ptr<http::response<http::string_body>> res,
                          std::string why, bool force_close) {
    ex_.response.status = res->result_int();
    ex_.log_fields["error"] = why;
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    res->set(http::field::via, "1.1 purser");
    // After a signature, even an error says what became of the payment (Purser-Decision).
    detail::set_purser_headers(res->base(), ex_.extra_headers);
    res->body() = "purser: " + why + "\n";
    // The connection can carry another request only when this one was read completely.
    const bool can_continue = !force_close && req_parser_ && req_parser_->is_done() &&
                              ex_.request.keep_alive && !stopping_;
    res->keep_alive(can_continue);
    res->prepare_payload();
    send_complete(std::move(res));
}

void session::send_complete(std::shared_ptr<http::response<http::string_body>> res) {
    ex_.enter(exchange_phase::streaming_response);
    ex_.response.bytes = res->body().size();
    client_.lowest().expires_after(ms(cfg_->idle_timeout_ms));
    client_.visit([&](auto& s) {
        http::async_write(s, *res, [self = shared_from_this(), res](boost::system::error_code ec,
                                                                     std::size_t) {
            if (ec) return self->abort_both();
            self->finish_exchange(res->keep_alive());
        });
    });
}

request_outcome session::outcome() const {
    const auto field = [&](const char* key) -> const std::string* {
        auto it = ex_.log_fields.find(key);
        return it == ex_.log_fields.end() ? nullptr : &it->second;
    };
    const std::string* decision = field("decision");
    if (decision != nullptr && *decision == "pay") {
        const std::string* settled = field("ledger_status");
        return settled != nullptr && *settled == "paid" ? request_outcome::paid
                                                        : request_outcome::payment_unsettled;
    }
    if (field("error") != nullptr) {
        if (ex_.response.status == 407) return request_outcome::unauthorized;
        if (ex_.response.status == 502 || ex_.response.status == 504) return request_outcome::upstream_error;
        return request_outcome::refused;
    }
    if (decision != nullptr && *decision == "declined") return request_outcome::declined;
    if (ex_.response.status == 0) return request_outcome::aborted;
    return request_outcome::forwarded;
}

void session::log_exchange() {
    if (ex_.logged) return;
    ex_.logged = true;
    if (srv_.stats) srv_.stats->count_request(outcome());
    if (!srv_.log.enabled()) return;
    detail::log_line line;
    line.add("time", detail::access_log::now_iso8601())
        .add("agent", ex_.request.agent)
        .add("client", client_endpoint_)
        .add("method", ex_.request.method)
        .add("host", ex_.request.dest.host)
        .add("url", detail::redact_url(ex_.request.url))
        .add("status", ex_.response.status)
        .add("bytes", ex_.response.bytes)
        .add("latency_ms", static_cast<std::int64_t>(
                               std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() -
                                                              ex_.start)
                                   .count()));
    if (intercepted()) line.add("intercepted", true);
    for (const auto& [k, v] : ex_.log_fields)
        if (!line.has(k)) line.add(k, v);
    worker_.log(line);
}

void session::finish_exchange(bool keep_alive) {
    ex_.enter(exchange_phase::done);
    log_exchange();
    if (keep_alive && !stopping_ && !srv_.stopping) return do_read_request();
    close_client(true);
}

void session::abort_both() {
    if (ex_.phase != exchange_phase::done) ex_.enter(exchange_phase::done);
    if (ex_.response.status != 0 || !ex_.request.method.empty()) log_exchange();
    up_.reset();
    close_client();
}

/// `drain`: the agent may still be sending (an error answered before its request was read in
/// full). Closing a socket with unread bytes makes the kernel send RST, which can destroy the
/// answer we just wrote before the agent reads it, so we half-close and read what is left
/// (briefly) before closing.
void session::close_client(bool drain) {
    if (closed_) return;
    closed_ = true;
    resolver_.cancel();
    if (client_.is_tls()) {
        client_.lowest().expires_after(std::chrono::seconds(2));
        client_.tls().async_shutdown([self = shared_from_this()](boost::system::error_code) {
            self->client_.lowest().close();
        });
        return;
    }
    boost::system::error_code ignored;
    client_.lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!drain) return client_.lowest().close();
    client_.lowest().expires_after(std::chrono::seconds(1));
    do_drain();
}

void session::do_drain() {
    client_.lowest().async_read_some(
        net::buffer(chunk(), io_chunk), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->client_.lowest().close();
            self->do_drain();
        });
}

}  // namespace purser::proxy
