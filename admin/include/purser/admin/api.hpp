// The admin API as a function from request to response: health, readiness, metrics, agents and
// the ledger. No sockets here (admin/server.hpp carries it over HTTP), so every route is tested
// directly against a real store.
//
//   GET  /healthz                  open: the process answers
//   GET  /readyz                   open: store open, wallet unlocked, listener up (200 or 503)
//   GET  /metrics                  Prometheus text format
//   GET  /agents                   every agent with its limits and counters
//   GET  /agents/{name}
//   POST /agents/{name}/freeze     | /unfreeze | /fund with {"amount": "1.50"} (USD, a string)
//   GET  /ledger?since=&until=&agent=&host=&status=&limit=   the filters of `purser ledger`
//   GET  /spend?by=agent|host|day|agent_day&since=&until=    `purser spend --format json`
//   GET  /  /dashboard.js  /dashboard.css   open: the spend dashboard, static files compiled into
//                                  the binary; the page itself calls the routes above with the
//                                  token the user gives it
//
// Everything but /healthz, /readyz and the dashboard's files needs `Authorization: Bearer
// <token>`; without it, or with a wrong one, the answer is 401 and nothing is read or changed.
// With no token configured every such request is 401.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "purser/admin/token.hpp"
#include "purser/proxy/metrics.hpp"
#include "purser/store/store.hpp"

namespace purser::admin {

/// What /readyz checks; each answers true when that part is ready. A check left empty counts as
/// not ready.
struct readiness {
    std::function<bool()> store_open;
    std::function<bool()> wallet_unlocked;
    std::function<bool()> listener_up;
    /// The fleet database answered the last lease pass; empty = no fleet configured (then it
    /// is neither checked nor shown).
    std::function<bool()> fleet_database;
};

struct request {
    std::string method;         ///< "GET", "POST", ...
    std::string target;         ///< Origin form: "/ledger?agent=a"
    std::string authorization;  ///< The Authorization header, "" when absent.
    std::string body;
};

struct response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< WWW-Authenticate, Allow.
};

class api {
public:
    /// `token` empty: no token is configured and every protected route answers 401.
    api(std::shared_ptr<store::store> ledger, std::shared_ptr<proxy::metrics> stats,
        readiness ready, std::optional<bearer_token> token);

    /// Thread-safe. May block on an LMDB write (freeze, unfreeze, fund): run it off I/O threads.
    [[nodiscard]] response handle(const request& r) const;

private:
    std::shared_ptr<store::store> ledger_;
    std::shared_ptr<proxy::metrics> stats_;
    readiness ready_;
    std::optional<bearer_token> token_;
};

/// Splits a query string ("a=1&b=x%20y") into decoded pairs ('+' is a space). nullopt when a
/// percent escape is malformed or decodes to a NUL.
[[nodiscard]] std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(
    std::string_view query);

}  // namespace purser::admin
