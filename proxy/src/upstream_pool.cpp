#include "upstream.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace purser::proxy {

std::unique_ptr<upstream> upstream_pool::take(const std::string& key,
                                              std::chrono::milliseconds max_age) {
    std::vector<entry> stale;  // closed on return
    const auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& idle = it->second;
    const auto now = std::chrono::steady_clock::now();
    while (!idle.empty()) {
        entry e = std::move(idle.back());
        idle.pop_back();
        --total_;
        if (now - e.since < max_age) return std::move(e.up);
        stale.push_back(std::move(e));  // older ones below it are older still
    }
    return nullptr;
}

void upstream_pool::give(std::unique_ptr<upstream> up, const limits& keep) {
    if (!up || up->buffer.size() != 0) return;
    up->stream.lowest().expires_never();
    std::vector<entry> closed;  // destroyed on return
    const auto now = std::chrono::steady_clock::now();
    // Forget what has idled too long everywhere, so origins used once do not hold sockets.
    for (auto it = idle_.begin(); it != idle_.end();) {
        auto& idle = it->second;
        const auto fresh = std::find_if(idle.begin(), idle.end(), [&](const entry& e) {
            return now - e.since < keep.max_age;
        });
        for (auto old = idle.begin(); old != fresh; ++old) closed.push_back(std::move(*old));
        total_ -= static_cast<std::size_t>(fresh - idle.begin());
        idle.erase(idle.begin(), fresh);
        it = idle.empty() ? idle_.erase(it) : std::next(it);
    }
    auto& idle = idle_[up->key];
    if (idle.size() < keep.per_origin && total_ < keep.total) {
        idle.push_back(entry{std::move(up), now});
        ++total_;
    } else {
        closed.push_back(entry{std::move(up), now});
    }
}

void upstream_pool::drop(const std::string& key) {
    std::vector<entry> stale;  // closed on return
    if (const auto it = idle_.find(key); it != idle_.end()) {
        stale = std::move(it->second);
        total_ -= stale.size();
        idle_.erase(it);
    }
}

}  // namespace purser::proxy
