// A CONNECT to a host that is not intercepted: bytes both ways until both sides have ended or the
// tunnel is silent for idle_timeout_ms. Logs one line (bytes each way, duration) when it ends.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

#include "asio.hpp"
#include "log_line.hpp"
#include "server_state.hpp"

namespace purser::proxy {

class tunnel : public session_base, public std::enable_shared_from_this<tunnel> {
public:
    /// `leftover`: bytes the client sent after the CONNECT head (often its TLS ClientHello),
    /// already read into the HTTP buffer; they go to the origin first.
    tunnel(server::impl& srv, io_worker& worker, tcp_socket client, tcp_socket origin,
           beast::flat_buffer leftover, detail::log_line log_line);
    ~tunnel() override;
    tunnel(const tunnel&) = delete;
    tunnel& operator=(const tunnel&) = delete;

    void start();

    /// A tunnel may carry a request we cannot see: the shutdown grace ends it, not stop().
    void on_stop() override {}

private:
    void touch() { last_ = std::chrono::steady_clock::now(); }
    void do_idle_check();
    void do_read(bool up);  // up: client -> origin
    void on_read(bool up, boost::system::error_code ec, std::size_t n);
    void close();

    server::impl& srv_;
    io_worker& worker_;
    std::shared_ptr<const config> cfg_;  ///< As when the tunnel opened (see session::cfg_).
    tcp_socket client_;
    tcp_socket origin_;
    beast::flat_buffer leftover_;
    steady_timer timer_;
    detail::log_line log_line_;  // empty when the log is off
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_;
    std::array<char, 16384> up_buf_{};
    std::array<char, 16384> down_buf_{};
    std::uint64_t bytes_up_ = 0;
    std::uint64_t bytes_down_ = 0;
    int eofs_ = 0;
    bool closed_ = false;
};

}  // namespace purser::proxy
