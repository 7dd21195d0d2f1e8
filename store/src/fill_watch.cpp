#include "purser/store/fill_watch.hpp"

#include <cstdio>

namespace purser::store {
namespace {

std::string mib(std::uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

fill_watch::fill_watch(std::shared_ptr<const store> watched, sink out,
                       std::chrono::milliseconds interval, double warn_at, double rearm_at)
    : store_(std::move(watched)), out_(std::move(out)), warn_at_(warn_at), rearm_at_(rearm_at) {
    if (interval.count() <= 0) return;
    thread_ = std::thread([this, interval] {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
            lock.unlock();
            check();
            lock.lock();
        }
    });
}

fill_watch::~fill_watch() {
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::optional<std::string> fill_watch::check() {
    const std::lock_guard lock(check_mutex_);
    auto st = store_->stats();
    if (!st || st->max_bytes == 0) return std::nullopt;
    const std::uint64_t held = st->used_bytes - st->free_bytes;
    const double fill = static_cast<double>(held) / static_cast<double>(st->max_bytes);
    if (warned_) {
        if (fill < rearm_at_) warned_ = false;
        return std::nullopt;
    }
    if (fill < warn_at_) return std::nullopt;
    warned_ = true;
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.0f%%", fill * 100);
    std::string line = "warning: the store is " + std::string(percent) + " full (" +
                       mib(held) + " of " + mib(st->max_bytes) +
                       "); when full, every payment is declined store_unavailable: raise "
                       "store_max_size or run `purser ledger prune --before 90d --archive FILE`";
    out_(line);
    return line;
}

}  // namespace purser::store
