// What the connections of one server share: configuration, the payment hook, the access log, and
// the workers.
//
// The worker model (Envoy's): N workers, each an io_context run by exactly one thread, with its
// own upstream pool, leaf-certificate cache, spare relay buffers and list of live connections.
// One acceptor, on the server's own io_context (the thread that calls run()), hands accepted
// sockets to the workers in turn; a connection then stays on its worker for its whole life, its
// origin connections and tunnels included, so nothing on the hot path takes a lock or goes
// through a strand. Only payment decisions leave the worker (LMDB and signing on `workers`, the
// payment pool), and their results are posted back to the connection's own io_context.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dns_cache.hpp"
#include "access_log.hpp"
#include "asio.hpp"
#include "log_line.hpp"
#include "purser/proxy/server.hpp"
#include "tls_sessions.hpp"
#include "upstream.hpp"

namespace purser::proxy {

/// What stop() tells every live connection.
class session_base {
public:
    virtual ~session_base() = default;
    /// Runs on the connection's worker. Idle connections close; busy ones finish the current
    /// request and then close.
    virtual void on_stop() = 0;
};

/// How much of a body moves per read and write.
inline constexpr std::size_t io_chunk = 64 * 1024;

/// One event loop and what its connections share. Everything here except `ioc` is touched only
/// on the worker's own thread (or after every thread has stopped), so none of it has a lock.
struct io_worker {
    io_worker() = default;
    io_worker(const io_worker&) = delete;
    io_worker& operator=(const io_worker&) = delete;

    /// A relay buffer of io_chunk bytes, taken only while a body moves and given back when the
    /// connection goes idle: an idle connection holds none.
    [[nodiscard]] std::unique_ptr<char[]> take_chunk();
    void give_chunk(std::unique_ptr<char[]> chunk);

    /// The TLS server context for an intercepted host: a leaf minted on first use and cached.
    /// nullptr with `why` set when no leaf can be made.
    std::shared_ptr<ssl::context> leaf_context(const cert_authority& ca, const std::string& host,
                                               std::string& why);

    void register_session(const std::shared_ptr<session_base>& s);

    /// Adds `line` to this worker's batch of access-log lines. The batch is written when the
    /// loop has run what was ready (a burst of requests costs one write, a quiet moment no
    /// delay), when it passes 64 KiB, and when the worker ends.
    void log(const detail::log_line& line);

    /// Lines not yet written, and where they go.
    struct log_batch {
        detail::access_log* out = nullptr;
        std::string text;
        log_batch() = default;
        log_batch(const log_batch&) = delete;
        log_batch& operator=(const log_batch&) = delete;
        ~log_batch() { flush(); }
        void flush() {
            if (!text.empty() && out != nullptr) out->write_text(text);
            text.clear();
        }
    };

    // Declared first, destroyed last: connections destroyed with the io_context give their
    // buffers back and log their last lines here.
    log_batch log_lines;
    std::vector<std::unique_ptr<char[]>> spare_chunks;
    std::vector<std::weak_ptr<session_base>> sessions;  // told by stop()
    std::map<std::string, std::shared_ptr<ssl::context>> leaf_contexts;
    detail::tls_session_cache origin_sessions;  // resumable sessions of HTTPS origins
    detail::dns_cache names;  // origins this worker resolved in the last few seconds
    // One thread runs it: the hint lets Asio skip its own locking.
    net::io_context ioc{1};
    net::executor_work_guard<io_executor> keep_running{ioc.get_executor()};
    // After ioc, so idle pooled sockets close while their io_context still exists.
    upstream_pool pool;
    std::thread thread;
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

    std::shared_ptr<metrics> stats;  // may be null: nothing is counted
    std::atomic<bool> listening{false};  // listen() succeeded
    std::atomic<bool> stopping{false};
    std::atomic<long> active{0};  // connections alive; stop() waits for zero
    std::atomic<std::size_t> max_connections{0};  // cfg's, readable without the mutex
    // Set while `active` has reached max_connections and no accept is pending; the connection
    // that brings `active` back under the cap clears it and accepts again.
    std::atomic<bool> accept_paused{false};

    // Declared after everything a connection touches in its destructor, so the io_contexts
    // (which destroy pending handlers and the connections they hold) go first. The hook runs on
    // `workers`, never on an I/O thread: it writes LMDB and signs.
    ssl::context upstream_tls{ssl::context::tls_client};
    // Sixteen, not one per core: a payment decision mostly waits for the store's durable commit,
    // and concurrent decisions share one commit (group commit) only when they are in flight
    // together.
    net::thread_pool workers{16};
    // Created by listen(), run by run(); never resized while they run.
    std::vector<std::unique_ptr<io_worker>> io_workers;
    std::size_t next_worker = 0;  // round-robin; touched only by the accept chain

    // The acceptor, the accept back-off and the stop sequence run here, on the thread that
    // calls run().
    net::io_context ioc{1};
    net::executor_work_guard<io_executor> keep_running{ioc.get_executor()};
    tcp::acceptor acceptor{ioc};
    steady_timer drain_timer{ioc};
    std::chrono::steady_clock::time_point drain_deadline;
    // Accept back-off while the process is out of descriptors or memory. Touched only by the
    // accept chain, which has one operation pending at a time, so it needs no lock.
    steady_timer accept_timer{ioc};
    ms accept_backoff{0};                     // 0 outside a failure episode
    std::uint64_t accept_failures = 0;        // failures in the current episode
    std::chrono::steady_clock::time_point last_cap_log;

    /// Makes the workers (config.threads of them, 0 = cores); called once, by listen().
    void make_workers();
    void do_accept();
    void on_accept(boost::system::error_code ec, tcp_socket socket, io_worker& worker);
    void on_accept_error(boost::system::error_code ec);
    void pause_accepting();
    /// Every connection (session or tunnel) calls this from its destructor, on any thread,
    /// after decrementing `active`: it resumes accepting if the cap had paused it.
    void on_connection_closed();
    void check_drain();
    /// Ends run(): every worker's loop and the server's own.
    void stop_loops();
};

}  // namespace purser::proxy
