#include "upstream.hpp"

#include <utility>

namespace purser::proxy {

std::unique_ptr<upstream> upstream_pool::take(const std::string& key) {
    const std::lock_guard lock(mutex_);
    const auto it = idle_.find(key);
    if (it == idle_.end() || it->second.empty()) return nullptr;
    auto up = std::move(it->second.back());
    it->second.pop_back();
    return up;
}

void upstream_pool::give(std::unique_ptr<upstream> up, std::size_t keep_per_origin) {
    if (!up || up->buffer.size() != 0) return;
    up->stream.lowest().expires_never();
    std::unique_ptr<upstream> closed;  // destroyed outside the lock
    const std::lock_guard lock(mutex_);
    auto& idle = idle_[up->key];
    if (idle.size() < keep_per_origin) idle.push_back(std::move(up));
    else closed = std::move(up);
}

void upstream_pool::drop(const std::string& key) {
    std::vector<std::unique_ptr<upstream>> stale;  // closed outside the lock
    const std::lock_guard lock(mutex_);
    if (const auto it = idle_.find(key); it != idle_.end()) stale = std::move(it->second);
}

}  // namespace purser::proxy
