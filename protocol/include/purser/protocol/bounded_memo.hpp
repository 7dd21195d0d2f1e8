// A bounded, thread-safe memo of a function's answers, by a text key: for work that depends on
// its input bytes alone (parsing a merchant's terms, recovering a signer).
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace purser {

/// At most `max_entries` answers; when full it is emptied rather than evicted one by one. Keys
/// may be chosen by a stranger (a merchant's texts): filling it gains them nothing over a miss,
/// costs no more memory than the bound, and the common keys are back after a few calls.
template <class Value>
class bounded_memo {
public:
    explicit bounded_memo(std::size_t max_entries) : max_entries_(max_entries) {}

    [[nodiscard]] std::optional<Value> find(const std::string& key) const {
        const std::lock_guard lock(mutex_);
        auto it = known_.find(key);
        if (it == known_.end()) return std::nullopt;
        return it->second;
    }

    void keep(std::string key, Value value) {
        const std::lock_guard lock(mutex_);
        if (known_.size() >= max_entries_) known_.clear();
        known_.insert_or_assign(std::move(key), std::move(value));
    }

private:
    const std::size_t max_entries_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Value> known_;
};

}  // namespace purser
