// The admin listener of `purser proxy`: health, readiness, metrics and the JSON API on
// admin_listen (default 127.0.0.1:8403), with the token from admin_token_file /
// PURSER_ADMIN_TOKEN_FILE or PURSER_ADMIN_TOKEN.
#pragma once

#include <memory>

#include "proxy_payment.hpp"
#include "purser/admin/server.hpp"
#include "purser/protocol/result.hpp"
#include "purser/proxy/config.hpp"
#include "purser/proxy/metrics.hpp"
#include "purser/proxy/server.hpp"

namespace purser::cli {

/// Starts the admin listener on its own thread and prints "purser admin listening on
/// HOST:PORT" (stdout). nullptr when admin_listen is "off". `proxy` answers "listener up" for
/// /readyz and must outlive the returned server. Errors: the token file cannot be read or is
/// empty, the address cannot be bound.
[[nodiscard]] result<std::unique_ptr<admin::server>> start_admin(
    const proxy::config& cfg, const payment_setup& payments, std::shared_ptr<proxy::metrics> stats,
    const proxy::server& proxy);

}  // namespace purser::cli
