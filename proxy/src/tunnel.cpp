#include "tunnel.hpp"

#include <utility>

#include <boost/asio/write.hpp>

namespace purser::proxy {

tunnel::tunnel(server::impl& srv, io_worker& worker, tcp_socket client, tcp_socket origin,
               beast::flat_buffer leftover, detail::log_line log_line)
    : srv_(srv), worker_(worker), cfg_(srv.current_config()), client_(std::move(client)), origin_(std::move(origin)),
      leftover_(std::move(leftover)), timer_(client_.get_executor()),
      log_line_(std::move(log_line)), start_(std::chrono::steady_clock::now()) {
    ++srv_.active;
}

tunnel::~tunnel() {
    if (srv_.stats) srv_.stats->count_request(request_outcome::tunnel);
    // Empty when the log was off as the tunnel opened.
    if (srv_.log.enabled() && log_line_.has("time")) {
        log_line_.add("bytes_up", bytes_up_)
            .add("bytes_down", bytes_down_)
            .add("latency_ms", static_cast<std::int64_t>(
                                   std::chrono::duration_cast<ms>(
                                       std::chrono::steady_clock::now() - start_)
                                       .count()));
        worker_.log(log_line_);
    }
    --srv_.active;
    srv_.on_connection_closed();
}

void tunnel::start() {
    worker_.register_session(shared_from_this());
    touch();
    do_idle_check();
    if (leftover_.size() > 0) {
        bytes_up_ += leftover_.size();
        net::async_write(origin_, leftover_.data(),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             self->leftover_.clear();
                             if (ec) return self->close();
                             self->do_read(true);
                         });
    } else {
        do_read(true);
    }
    do_read(false);
}

void tunnel::do_idle_check() {
    timer_.expires_after(ms(cfg_->idle_timeout_ms));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_) return;
        if (std::chrono::steady_clock::now() - self->last_ >= ms(self->cfg_->idle_timeout_ms))
            return self->close();
        self->do_idle_check();
    });
}

void tunnel::do_read(bool up) {
    auto& from = up ? client_ : origin_;
    auto& buf = up ? up_buf_ : down_buf_;
    from.async_read_some(net::buffer(buf), [self = shared_from_this(), up](
                                               boost::system::error_code ec, std::size_t n) {
        self->on_read(up, ec, n);
    });
}

void tunnel::on_read(bool up, boost::system::error_code ec, std::size_t n) {
    auto& to = up ? origin_ : client_;
    if (ec) {
        // End of one direction: pass the half-close on; the other direction may still run.
        boost::system::error_code ignored;
        if (ec == net::error::eof && !closed_) {
            to.shutdown(tcp::socket::shutdown_send, ignored);
            if (++eofs_ == 2) close();
            return;
        }
        return close();
    }
    touch();
    (up ? bytes_up_ : bytes_down_) += n;
    auto& buf = up ? up_buf_ : down_buf_;
    net::async_write(to, net::buffer(buf.data(), n),
                     [self = shared_from_this(), up](boost::system::error_code wec, std::size_t) {
                         if (wec) return self->close();
                         self->touch();
                         self->do_read(up);
                     });
}

void tunnel::close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    client_.close(ignored);
    origin_.close(ignored);
    timer_.cancel();
}

}  // namespace purser::proxy
