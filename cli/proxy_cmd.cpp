// purser proxy: runs the forward proxy until SIGTERM or SIGINT, then drains and exits 0.
// A proxy that cannot start exits with a code naming what is wrong (proxy_exit below; README
// "Exit codes"), so a container orchestrator's restart count and a supervisor's log say it.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <set>
#include <thread>

#include "command_table.hpp"
#include "detach.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "proxy_payment.hpp"
#include "proxy_admin.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/proxy/ca.hpp"
#include "purser/proxy/config.hpp"
#include "purser/proxy/fleet_shipper.hpp"
#include "purser/proxy/server.hpp"
#include "purser/store/errc.hpp"
#include "purser/testnet/env_file.hpp"
#include "purser/wallet/errc.hpp"

namespace purser::cli {
namespace {

/// Exit codes of `purser proxy`. Documented in README.md ("Exit codes"); tests/image/image_test.py
/// holds each. A code names the part an operator has to fix, not the function that failed.
enum proxy_exit : int {
    stopped = 0,        ///< SIGTERM or SIGINT: the listener closed and in-flight requests drained.
    failure = 1,        ///< Anything not named below.
    configuration = 2,  ///< A flag, PURSER_* variable, config file, payment section, testnet_env
                        ///< or default_agent that is wrong or names something that is not there.
    wallet = 3,         ///< The keystore cannot be unlocked: no password, a wrong one, a bad file.
    store = 4,          ///< The LMDB store cannot be opened (permissions, disk, a newer schema).
    listen = 5,         ///< The listen address cannot be bound (in use, not local, not permitted).
    ca = 6,             ///< The interception CA cannot be created or loaded.
};

/// Which exit code a failure to set up payments is: the store's and the wallet's errors carry
/// their own categories; everything else there comes from the configuration.
int payment_setup_exit(const error& e) {
    if (e.code.category() == store::store_category()) return proxy_exit::store;
    if (e.code.category() == wallet::wallet_category()) return proxy_exit::wallet;
    return proxy_exit::configuration;
}

/// Raises the soft limit on open files to the hard limit: every client connection takes a
/// descriptor, often a second one upstream, and the usual soft default (1024) would cap the
/// proxy far below max_connections. Logs both values, and warns when even the hard limit is
/// short of what max_connections may need.
void raise_open_files_limit(std::size_t max_connections) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
    const rlim_t before = lim.rlim_cur;
    if (lim.rlim_cur < lim.rlim_max) {
        rlimit raised = lim;
        raised.rlim_cur = lim.rlim_max;
        // An unlimited hard limit is still capped by fs.nr_open; fall back to its usual value.
        if (::setrlimit(RLIMIT_NOFILE, &raised) != 0 && lim.rlim_max == RLIM_INFINITY) {
            raised.rlim_cur = 1u << 20;
            if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) raised.rlim_cur = before;
        }
        ::getrlimit(RLIMIT_NOFILE, &lim);
    }
    std::cerr << "purser: open files limit " << lim.rlim_cur;
    if (lim.rlim_cur != before) std::cerr << " (raised from " << before << ")";
    std::cerr << ", hard limit " << lim.rlim_max << "\n";
    // Two descriptors per connection (agent and origin), plus the pool, log, store and CA.
    const rlim_t wanted = 2 * static_cast<rlim_t>(max_connections) + 512;
    if (lim.rlim_cur < wanted)
        std::cerr << "purser: warning: max_connections " << max_connections << " may need up to "
                  << wanted << " open files; past the limit, accepting backs off until "
                  << "connections close\n";
}

/// The local testnet's merchants serve HTTPS with the testnet's own CA: a proxy told to pay
/// on the testnet trusts that CA upstream too, so `--testnet-env` alone is enough.
result<std::shared_ptr<const proxy::config>> with_testnet_ca(std::shared_ptr<const proxy::config> cfg) {
    if (!cfg->testnet_env) return cfg;
    auto env = testnet::read_env_file(*cfg->testnet_env);
    if (!env) return fail(protocol::errc::invalid_value, "testnet_env: " + env.error().detail);
    auto ca = env->find("PURSER_TESTNET_CA");
    if (ca == env->end()) return cfg;
    auto copy = std::make_shared<proxy::config>(*cfg);
    copy->upstream_ca.emplace_back(ca->second);
    return std::shared_ptr<const proxy::config>(std::move(copy));
}

/// The configuration a SIGHUP brings: the config file read again (flags and the environment
/// of a running process cannot change). What the running proxy cannot change in place (its
/// listener, threads, store, wallet, CA, payment flow) keeps its current value and is named in
/// `kept`; a default agent the store does not know is refused the same way.
result<std::shared_ptr<const proxy::config>> reloaded_config(const proxy::config_sources& sources,
                                                             const proxy::config& now,
                                                             const payment_setup& payments,
                                                             bool have_ca,
                                                             std::vector<std::string>& kept) {
    PURSER_TRY(loaded, proxy::load_config(sources));
    PURSER_TRY(with_ca, with_testnet_ca(loaded));
    auto next = std::make_shared<proxy::config>(*with_ca);
    // A kept value still came from where it came from.
    auto kept_as_is = [&](const std::string& name) {
        if (auto it = now.origin.find(name); it != now.origin.end())
            next->origin[name] = it->second;
        else
            next->origin.erase(name);
        kept.push_back(name);
    };
    auto keep = [&](const char* name, auto member) {
        if (!(next.get()->*member == now.*member)) {
            next.get()->*member = now.*member;
            kept_as_is(name);
        }
    };
    if (next->listen_host != now.listen_host || next->listen_port != now.listen_port) {
        next->listen_host = now.listen_host;
        next->listen_port = now.listen_port;
        kept_as_is("listen");
    }
    keep("threads", &proxy::config::threads);
    keep("ca_dir", &proxy::config::ca_dir);
    keep("store_dir", &proxy::config::store_dir);
    keep("store_max_size", &proxy::config::store_max_size);
    keep("no_group_commit", &proxy::config::no_group_commit);
    keep("store_commit_delay_us", &proxy::config::store_commit_delay_us);
    keep("keystore", &proxy::config::keystore);
    keep("wallet_password_file", &proxy::config::wallet_password_file);
    keep("testnet_env", &proxy::config::testnet_env);
    keep("payment", &proxy::config::payment);
    keep("no_payments", &proxy::config::no_payments);
    keep("admin_listen", &proxy::config::admin_listen);
    keep("admin_token_file", &proxy::config::admin_token_file);
    if (!(next->fleet == now.fleet)) {
        next->fleet = now.fleet;
        for (const char* key : {"fleet.database", "fleet.password_file", "fleet.proxy_id", "fleet.budgets",
                                "fleet.lease_min", "fleet.lease_max"})
            kept_as_is(key);
    }
    // Interception needs the CA loaded at start-up.
    if (!have_ca && !next->intercept.empty()) keep("intercept", &proxy::config::intercept);
    if (next->default_agent && next->default_agent != now.default_agent) {
        if (auto known = payments.check_agent(*next->default_agent); !known) {
            kept.push_back("default_agent (" + known.error().detail + ")");
            next->default_agent = now.default_agent;
        }
    }
    return std::shared_ptr<const proxy::config>(std::move(next));
}

/// The background thread shipping the ledger to the fleet database (fleet.database set). The
/// password file is read once here: a missing one stops the start-up, a wrong one is retried
/// like a database that is down.
result<std::unique_ptr<proxy::fleet_shipper>> make_fleet_shipper(const proxy::fleet_settings& f,
                                                                 std::shared_ptr<store::store> ledger) {
    proxy::shipper_options o;
    o.database.conninfo = f.database;
    o.database.connect_timeout_s = 2;
    if (f.password_file) {
        PURSER_TRY(pw, read_password_file(*f.password_file, "fleet.password_file"));
        o.database.password = std::move(pw);
    }
    o.proxy_id = f.proxy_id;
    std::cerr << "purser: fleet: shipping the ledger as proxy '" << f.proxy_id << "'\n";
    return std::make_unique<proxy::fleet_shipper>(std::move(ledger), std::move(o));
}

}  // namespace

int proxy_command(const words& args) {
    int rc = 0;
    auto opts = parse_command("proxy", args, rc);
    if (!opts) return rc;
    if (!opts->positional().empty())
        return report("purser proxy takes no positional arguments ('" + opts->positional()[0] +
                          "')",
                      2);

    const proxy::config_sources sources = config_sources_of(*opts);
    auto loaded_cfg = proxy::load_config(sources);
    if (!loaded_cfg) return report(loaded_cfg.error(), proxy_exit::configuration);
    auto cfg = with_testnet_ca(*loaded_cfg);
    if (!cfg) return report(cfg.error(), proxy_exit::configuration);

    // The password is read here, not inside the payment setup, so that a missing one exits
    // with the wallet's code; in the background nobody could answer a prompt after the fork.
    std::unique_ptr<secret_string> password;
    if (std::error_code ec; !(*cfg)->no_payments && std::filesystem::exists((*cfg)->keystore, ec)) {
        auto pw = wallet_password(**cfg);
        if (!pw) return report(pw.error(), proxy_exit::wallet);
        password = std::move(*pw);
    }
    readiness detached;
    if (opts->has("detach")) {
        std::error_code ec;
        std::filesystem::create_directories(purser_home(), ec);
        if (auto parent_rc = detach(purser_home() / "proxy.log", detached)) return *parent_rc;
    }

    raise_open_files_limit((*cfg)->max_connections);

    std::shared_ptr<const proxy::cert_authority> ca;
    if (!(*cfg)->intercept.empty()) {
        auto created = proxy::cert_authority::init((*cfg)->ca_dir);
        if (!created) return report(created.error(), proxy_exit::ca);
        if (*created) std::cerr << "purser: created CA " << ((*cfg)->ca_dir / "ca.crt").string() << "\n";
        auto loaded = proxy::cert_authority::load((*cfg)->ca_dir);
        if (!loaded) return report(loaded.error(), proxy_exit::ca);
        ca = *loaded;
        // The agent's trust file beside the CA, rewritten at every start (the system roots may
        // have changed): in a pod the CA directory is a volume the agent container mounts, and
        // its SSL_CERT_FILE names ca_dir/bundle.pem (deploy/kubernetes/). Only a warning when it
        // cannot be written (no system roots, a CA directory mounted read-only): the proxy
        // itself does not need it.
        if (auto bundle = proxy::cert_authority::write_bundle((*cfg)->ca_dir); !bundle) {
            std::cerr << "purser: warning: no CA bundle for agents: " << bundle.error().message()
                      << "\n";
        }
    }

    // Signals are taken by one thread with sigwait, so they are blocked in every thread the
    // server starts (they inherit this mask).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);  // internal: ends the signal thread after the server is done
    sigaddset(&set, SIGHUP);   // reload: reopen the log, re-read the upstream CAs
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    // The store decides and records, the wallet signs; both are opened before the listener so
    // a wrong password or an unusable store stops the proxy before it accepts anyone.
    auto stats = std::make_shared<proxy::metrics>();
    auto payments = make_payment_setup(**cfg, std::move(password), stats);
    if (!payments) return report(payments.error(), payment_setup_exit(payments.error()));
    std::unique_ptr<proxy::fleet_shipper> shipper;
    if ((*cfg)->fleet.enabled()) {
        auto made = make_fleet_shipper((*cfg)->fleet, payments->ledger);
        if (!made) return report(made.error(), proxy_exit::configuration);
        shipper = std::move(*made);
        shipper->start();
    }
    proxy::server srv(*cfg, payments->hook, payments->agents, ca, stats);
    auto port = srv.listen();
    if (!port) return report(port.error(), proxy_exit::listen);
    auto admin = start_admin(**cfg, *payments, stats, srv);
    if (!admin) return report(admin.error(), proxy_exit::listen);
    const std::string host = (*cfg)->listen_host.find(':') == std::string::npos
                                 ? (*cfg)->listen_host
                                 : "[" + (*cfg)->listen_host + "]";
    std::ostringstream banner;
    banner << "purser proxy listening on " << host << ":" << *port;
    if (opts->has("detach")) banner << " (pid " << ::getpid() << ", log " << (purser_home() / "proxy.log").string() << ")";
    banner << "\n";
    std::cout << banner.str() << std::flush;
    const auto pid_file = purser_home() / "proxy.pid";
    if (opts->has("detach")) {
        std::ofstream(pid_file, std::ios::trunc) << ::getpid() << "\n";
    }
    detached.ready(banner.str());
    if (payments->fleet) payments->fleet->start();

    std::shared_ptr<const proxy::config> current = *cfg;
    std::thread waiter([&] {
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) != 0) continue;
            if (sig == SIGUSR1) return;
            if (sig == SIGHUP) {
                std::vector<std::string> kept;
                auto next = reloaded_config(sources, *current, *payments, ca != nullptr, kept);
                if (!next) {
                    // A broken file changes nothing: the proxy goes on as it was.
                    std::cerr << "purser: SIGHUP: configuration not reloaded: " << next.error().message()
                              << "\n";
                } else {
                    current = *next;
                }
                auto reloaded = srv.reload(next ? current : nullptr);
                std::cerr << "purser: SIGHUP: " << (next ? "configuration reloaded, " : "")
                          << "log reopened, upstream CAs re-read\n";
                if (!reloaded) std::cerr << "purser: SIGHUP: " << reloaded.error().message() << "\n";
                if (!kept.empty()) {
                    std::cerr << "purser: SIGHUP: kept until a restart:";
                    for (const auto& k : kept) std::cerr << " " << k;
                    std::cerr << "\n";
                }
                continue;
            }
            srv.stop();
        }
    });
    srv.run();
    // Drained: nothing is in flight, so what each lease spent is final; the rest goes back.
    if (payments->fleet) payments->fleet->stop();
    if (*admin) (*admin)->stop();
    // In-flight payments have drained: their last changes are in the outbox. One last attempt
    // to ship them; what the database does not take waits in the store for the next start.
    if (shipper) shipper->stop();
    pthread_kill(waiter.native_handle(), SIGUSR1);
    waiter.join();
    if (opts->has("detach")) {
        std::error_code ec;
        std::filesystem::remove(pid_file, ec);
    }
    return proxy_exit::stopped;
}

}  // namespace purser::cli
