// The fleet shipper: a background thread that drains the store's outbox into the fleet
// database's ledger (issue 14). Never on the payment path: a payment only queues its row in the
// outbox inside its own LMDB transaction; this thread reads batches, upserts them in one
// PostgreSQL transaction, and acknowledges them in the store only after that COMMIT, so a crash
// anywhere ships a row again rather than never (the upsert makes the second copy harmless).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "purser/fleet/ledger.hpp"
#include "purser/fleet/pg.hpp"
#include "purser/store/ledger.hpp"
#include "purser/store/store.hpp"

namespace purser::proxy {

/// The store's row as the fleet ledger keeps it (the URL without its query string).
[[nodiscard]] fleet::ledger_entry to_fleet_entry(const store::outbox_entry& e);

/// Ships one batch (at most `limit` rows) from `s`'s outbox to `c` as `proxy_id`, then
/// acknowledges it. Returns how many outbox entries it handled (0 = the outbox was empty).
/// Errors: the fleet database's (nothing acknowledged) or the store's.
[[nodiscard]] result<std::size_t> ship_batch(store::store& s, fleet::connection& c,
                                             const std::string& proxy_id, std::size_t limit);

struct shipper_options {
    fleet::connect_options database;
    std::string proxy_id;
    std::size_t batch_rows = 256;
    /// How often an empty outbox is looked at again.
    std::chrono::milliseconds poll{100};
    /// Waits after a failure: doubling from the first to the last while the database is down.
    std::chrono::milliseconds min_backoff{250};
    std::chrono::milliseconds max_backoff{10'000};
    /// At shutdown: how long the last drain may take.
    std::chrono::milliseconds final_drain{5'000};
};

/// What the shipper has done, for logs and tests.
struct shipper_stats {
    std::uint64_t rows_shipped = 0;  ///< Outbox entries shipped and acknowledged.
    std::uint64_t batches = 0;       ///< PostgreSQL transactions committed.
    std::uint64_t failures = 0;      ///< Attempts that failed (database down, ...).
    bool connected = false;
};

class fleet_shipper {
public:
    fleet_shipper(std::shared_ptr<store::store> s, shipper_options o);
    /// Stops (with the last drain attempt) if still running.
    ~fleet_shipper();
    fleet_shipper(const fleet_shipper&) = delete;
    fleet_shipper& operator=(const fleet_shipper&) = delete;

    /// Starts the thread. Precondition: not started.
    void start();
    /// Wakes the thread to drain its outbox once more, as far as the database lets it within
    /// final_drain, and joins it. Idempotent.
    void stop();
    [[nodiscard]] shipper_stats stats() const;

private:
    void run();
    /// One connect-and-drain round; false when it failed (the caller backs off).
    bool drain(const std::chrono::steady_clock::time_point& deadline);
    void note_failure(const std::string& why);

    std::shared_ptr<store::store> store_;
    shipper_options options_;
    std::unique_ptr<fleet::connection> db_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    shipper_stats stats_;
    std::string last_error_;
};

}  // namespace purser::proxy
