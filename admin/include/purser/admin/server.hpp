// The admin listener: HTTP/1.1 on its own address (default 127.0.0.1:8403), serving admin::api.
//
// It runs on a thread of its own with its own event loop, and the API's store calls (an LMDB
// write that syncs, for freeze or fund) run on a small pool beside it: whatever the admin side
// does, the proxy's workers never wait for it, and a slow scrape never delays an agent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "purser/admin/api.hpp"
#include "purser/protocol/result.hpp"

namespace purser::admin {

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8403;          ///< 0 picks a free port.
    std::size_t max_connections = 64;   ///< Past it, new connections wait in the listen queue.
    std::uint64_t timeout_ms = 10'000;  ///< Per read and write; an idle keep-alive closes.
    std::size_t max_body_bytes = 64 * 1024;
};

class server {
public:
    server(server_options options, std::shared_ptr<const api> routes);
    ~server();  ///< Stops and joins.
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens. Errors: proxy errc::listen_failed naming the address.
    [[nodiscard]] result<std::uint16_t> listen();
    /// Serves on its own thread until stop(). Call listen() first.
    void start();
    /// Thread-safe, idempotent: closes the listener and every connection, joins the threads.
    void stop();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace purser::admin
