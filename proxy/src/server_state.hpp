// What every connection of one server shares: configuration, the payment hook, the leaf
// certificate cache, the I/O context, and the list of live connections that stop() tells.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "access_log.hpp"
#include "asio.hpp"
#include "purser/proxy/server.hpp"
#include "upstream.hpp"

namespace purser::proxy {

/// What stop() tells every live connection.
class session_base {
public:
    virtual ~session_base() = default;
    /// Runs on the connection's strand. Idle connections close; busy ones finish the current
    /// request and then close.
    virtual void on_stop() = 0;
    /// The connection's strand.
    [[nodiscard]] virtual net::any_io_executor executor() = 0;
};

struct server::impl {
    /// Replaced by reconfigure() (SIGHUP) while connections run: read it through
    /// current_config(), except in listen() and run(), which come before any reload.
    std::shared_ptr<const config> cfg;
    mutable std::mutex cfg_mutex;
    [[nodiscard]] std::shared_ptr<const config> current_config() const {
        const std::lock_guard lock(cfg_mutex);
        return cfg;
    }
    std::shared_ptr<payment_hook> hook;
    std::shared_ptr<authenticator> auth;
    std::shared_ptr<const cert_authority> ca;
    detail::access_log log;

    std::atomic<bool> stopping{false};
    std::atomic<long> active{0};  // connections alive; stop() waits for zero
    std::atomic<std::size_t> max_connections{0};  // cfg's, readable without the mutex
    // Set while `active` has reached max_connections and no accept is pending; the connection
    // that brings `active` back under the cap clears it and accepts again.
    std::atomic<bool> accept_paused{false};

    std::mutex sessions_mutex;
    std::vector<std::weak_ptr<session_base>> sessions;

    std::mutex leaf_mutex;
    std::map<std::string, std::shared_ptr<ssl::context>> leaf_contexts;

    // Declared after everything a connection touches in its destructor, so the io_context (which
    // destroys pending handlers and the connections they hold) goes first. The hook runs on
    // `workers`, never on an I/O thread: it writes LMDB and signs.
    ssl::context upstream_tls{ssl::context::tls_client};
    // Sixteen, not one per core: a payment decision mostly waits for the store's durable commit,
    // and concurrent decisions share one commit (group commit) only when they are in flight
    // together.
    net::thread_pool workers{16};
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    net::steady_timer drain_timer{ioc};
    std::chrono::steady_clock::time_point drain_deadline;
    // Accept back-off while the process is out of descriptors or memory. Touched only by the
    // accept chain, which has one operation pending at a time, so it needs no lock.
    net::steady_timer accept_timer{ioc};
    ms accept_backoff{0};                     // 0 outside a failure episode
    std::uint64_t accept_failures = 0;        // failures in the current episode
    std::chrono::steady_clock::time_point last_cap_log;
    // After ioc, so idle pooled sockets close while their io_context still exists.
    upstream_pool pool;

    void register_session(const std::shared_ptr<session_base>& s);
    /// The TLS server context for an intercepted host: a leaf minted on first use and cached.
    /// nullptr with `why` set when no leaf can be made.
    std::shared_ptr<ssl::context> leaf_context(const std::string& host, std::string& why);

    void do_accept();
    void on_accept(boost::system::error_code ec, tcp::socket socket);
    void on_accept_error(boost::system::error_code ec);
    void pause_accepting();
    /// Every connection (session or tunnel) calls this from its destructor, on any thread,
    /// after decrementing `active`: it resumes accepting if the cap had paused it.
    void on_connection_closed();
    void check_drain();
};

}  // namespace purser::proxy
