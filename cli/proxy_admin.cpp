#include "proxy_admin.hpp"

#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>

#include "options.hpp"
#include "purser/protocol/errc.hpp"

namespace purser::cli {

namespace {

/// The token: admin_token_file (flag, PURSER_ADMIN_TOKEN_FILE or the config file) first, else
/// PURSER_ADMIN_TOKEN. Never a flag value, never printed.
result<std::optional<admin::bearer_token>> admin_token(const proxy::config& cfg) {
    if (cfg.admin_token_file) {
        PURSER_TRY(text, read_password_file(*cfg.admin_token_file, "admin_token_file"));
        if (text.empty()) {
            return fail(protocol::errc::invalid_value,
                        "admin_token_file " + cfg.admin_token_file->string() + " is empty");
        }
        admin::bearer_token token(text);
        std::fill(text.begin(), text.end(), '\0');
        return std::optional<admin::bearer_token>(std::move(token));
    }
    const char* env = std::getenv("PURSER_ADMIN_TOKEN");
    if (env != nullptr && *env != '\0') return std::optional<admin::bearer_token>(admin::bearer_token(env));
    return std::optional<admin::bearer_token>();
}

}  // namespace

result<std::unique_ptr<admin::server>> start_admin(const proxy::config& cfg,
                                                   const payment_setup& payments,
                                                   std::shared_ptr<proxy::metrics> stats,
                                                   const proxy::server& proxy) {
    if (cfg.admin_listen == "off") return std::unique_ptr<admin::server>();
    PURSER_TRY(token, admin_token(cfg));
    PURSER_TRY(where, proxy::parse_listen(cfg.admin_listen));
    if (!token) {
        std::cerr << "purser: no admin token (admin_token_file, PURSER_ADMIN_TOKEN_FILE or "
                     "PURSER_ADMIN_TOKEN): the admin API answers only /healthz and /readyz\n";
    }
    admin::readiness ready;
    ready.store_open = [ledger = payments.ledger] { return ledger != nullptr; };
    ready.wallet_unlocked = [unlocked = payments.wallet_unlocked || cfg.no_payments] { return unlocked; };
    ready.listener_up = [&proxy] { return proxy.accepting(); };
    if (payments.fleet) ready.fleet_database = [fleet = payments.fleet] { return fleet->database_up(); };
    auto routes = std::make_shared<const admin::api>(payments.ledger, std::move(stats),
                                                     std::move(ready), std::move(token));
    admin::server_options options;
    options.host = where.first;
    options.port = where.second;
    auto srv = std::make_unique<admin::server>(options, std::move(routes));
    PURSER_TRY(port, srv->listen());
    srv->start();
    const std::string host = where.first.find(':') == std::string::npos ? where.first
                                                                        : "[" + where.first + "]";
    std::ostringstream line;
    line << "purser admin listening on " << host << ":" << port << "\n";
    std::cout << line.str() << std::flush;
    return srv;
}

}  // namespace purser::cli
