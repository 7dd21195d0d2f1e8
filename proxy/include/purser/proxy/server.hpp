// The forward proxy server: HTTP/1.1 absolute-form forwarding, CONNECT tunnels, TLS interception,
// and the 402 hand-off to a payment_hook. Beast and Asio stay inside proxy/src.
#pragma once

#include <cstdint>
#include <memory>

#include "purser/protocol/result.hpp"
#include "purser/proxy/authenticator.hpp"
#include "purser/proxy/ca.hpp"
#include "purser/proxy/config.hpp"
#include "purser/proxy/metrics.hpp"
#include "purser/proxy/payment_hook.hpp"

namespace purser::proxy {

class server {
public:
    /// `ca` may be null when nothing is intercepted (config.intercept empty); CONNECTs to hosts
    /// that would be intercepted then fail with 502. `auth` may be null only when
    /// config.default_agent is set (every request is then that agent).
    /// `stats`, when given, counts every request (purser/proxy/metrics.hpp).
    server(std::shared_ptr<const config> cfg, std::shared_ptr<payment_hook> hook,
           std::shared_ptr<authenticator> auth, std::shared_ptr<const cert_authority> ca,
           std::shared_ptr<metrics> stats = nullptr);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens on config.listen; returns the bound port (useful with port 0), and
    /// opens the access log. Errors: listen_failed (bad address, in use), config_file (log file
    /// cannot be opened), ca_failure (an upstream_ca file cannot be loaded).
    [[nodiscard]] result<std::uint16_t> listen();

    /// Thread-safe: true once listen() has succeeded and until stop() (readiness probes).
    [[nodiscard]] bool accepting() const;

    /// Serves on config.threads I/O threads (0 = cores) until stop() has drained; returns after
    /// every thread has finished. Call listen() first.
    void run();

    /// Thread-safe and idempotent: stops accepting, closes idle keep-alive connections, lets
    /// requests in flight finish, and ends run() when none remain or after
    /// config.shutdown_grace_ms, whichever comes first.
    void stop();

    /// Thread-safe (SIGHUP): with `next`, makes it the configuration of every connection
    /// accepted from now on (connections in progress keep theirs; the listener and thread count
    /// are what listen() and run() used, whatever `next` says). Then reopens the access log
    /// (after logrotate, or at next->log) and re-reads the upstream_ca files, adding any
    /// certificate they now hold to what upstream TLS trusts (anchors are never removed).
    /// Errors: config_file, ca_failure; on an error what could be done is done.
    [[nodiscard]] result<void> reload(std::shared_ptr<const config> next = nullptr);

    /// Opaque; public only so the connection classes in proxy/src can name it.
    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace purser::proxy
