// The store's early warning: a store that fills up refuses every payment (store_unavailable),
// so the operator hears about it at 80 % of its configured maximum, while there is time to raise
// the maximum or prune.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "purser/store/store.hpp"

namespace purser::store {

class fill_watch {
public:
    /// Receives each warning line (no trailing newline).
    using sink = std::function<void(const std::string&)>;

    /// Warns once when the store's used bytes reach `warn_at` (a fraction of max_bytes), and
    /// again only after the fill has dropped below `rearm_at` (pruning, or a larger maximum) and
    /// risen past `warn_at` once more. With a non-zero `interval` a thread checks that often.
    fill_watch(std::shared_ptr<const store> watched, sink out,
               std::chrono::milliseconds interval = std::chrono::seconds(30),
               double warn_at = 0.8, double rearm_at = 0.75);
    ~fill_watch();
    fill_watch(const fill_watch&) = delete;
    fill_watch& operator=(const fill_watch&) = delete;

    /// Checks now (the thread calls it; tests too). Returns the warning it gave, if any.
    std::optional<std::string> check();

private:
    std::shared_ptr<const store> store_;
    sink out_;
    double warn_at_;
    double rearm_at_;
    bool warned_ = false;
    std::mutex check_mutex_;

    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace purser::store
