// The proxy's side of fleet budgets (issue 14): a background thread that keeps a lease of each
// fleet budget the agents draw on in the local store, so a payment only ever spends what the
// store already holds and never waits on PostgreSQL. It acquires leases at start, refills one
// before it runs out (sizing it between fleet.lease_min and fleet.lease_max), returns the unspent
// rest on shutdown and at the end of a budget's window, and reconnects by itself when the
// database goes away. While the database is away, payments spend what the leases still hold,
// then are declined budget_unavailable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "purser/proxy/config.hpp"
#include "purser/proxy/metrics.hpp"
#include "purser/store/store.hpp"

namespace purser::fleet {
class connection;
}

namespace purser::proxy {

struct fleet_lease_options {
    fleet_settings settings;
    std::string password;            ///< Read from settings.password_file by the caller.
    std::uint64_t poll_ms = 100;     ///< How often the leases' remaining is looked at.
    std::uint64_t retry_ms = 1'000;  ///< After a database error, or a budget with no headroom.
    /// A refill within this long of the budget's previous one doubles the lease size.
    std::uint64_t grow_within_ms = 10'000;
};

/// Thread-safe. Owns one PostgreSQL connection, used only by its own thread (and stop()).
class fleet_leases {
public:
    /// `stats`, when given, receives purser_fleet_database_up and
    /// purser_fleet_lease_remaining_micros{budget} after every pass.
    fleet_leases(std::shared_ptr<store::store> ledger, fleet_lease_options options,
                 std::shared_ptr<metrics> stats = nullptr);
    ~fleet_leases();
    fleet_leases(const fleet_leases&) = delete;
    fleet_leases& operator=(const fleet_leases&) = delete;

    /// Starts the thread; its first pass acquires the leases.
    void start();
    /// Stops the thread, then returns every lease this store holds with what it spent (after the
    /// proxy drained, nothing is in flight). A lease the database cannot take back now stays
    /// closed in the store and is returned by the next start. Idempotent.
    void stop();
    /// One pass: reconnect when due, return what is due, acquire or refill what is low. The
    /// thread calls it every poll_ms; tests may call it without start().
    void tick();

    /// Whether the last pass reached the database.
    [[nodiscard]] bool database_up() const { return database_up_.load(); }

private:
    struct budget_state {
        std::uint64_t lease_micros = 0;      ///< The next lease's size (adapted).
        std::uint64_t last_acquired_ms = 0;
        std::uint64_t not_before_ms = 0;     ///< No headroom: ask again from then on.
    };
    bool connected();
    void lost(const std::string& what, const std::string& why);
    bool return_account(const store::budget_account& closed);
    /// Squares this store's leases with the database's: returns, unspent, a lease granted to this
    /// proxy id that the store never installed; closes an account an operator reconciled.
    void match_database(const std::vector<store::budget_account>& accounts);
    void refill(const std::string& budget, const store::budget_account* held, std::uint64_t now_ms);
    void publish(const std::vector<store::budget_account>& accounts, std::uint64_t now_ms);
    void run();

    std::shared_ptr<store::store> ledger_;
    fleet_lease_options options_;
    std::shared_ptr<metrics> stats_;
    std::unique_ptr<fleet::connection> conn_;
    std::uint64_t next_connect_ms_ = 0;
    std::uint64_t last_ping_ms_ = 0;
    std::map<std::string, budget_state> budgets_;
    std::atomic<bool> database_up_{false};
    std::mutex tick_mutex_;  ///< One pass at a time (the thread, stop()).
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool stopped_ = false;
    std::thread thread_;
};

/// The unix ms at which the budget window `window` ("2026-12-02", "2026-12", "lifetime") that
/// contains `now_ms` ends; 0 for a lifetime budget.
[[nodiscard]] std::uint64_t window_end_ms(const std::string& window, std::uint64_t now_ms);

}  // namespace purser::proxy
