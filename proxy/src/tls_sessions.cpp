#include "tls_sessions.hpp"

namespace purser::proxy::detail {

void tls_session_cache::offer(const std::string& key, SSL* ssl) const {
    const auto it = sessions_.find(key);
    if (it == sessions_.end()) return;
    // A failure only means a full handshake.
    (void)SSL_set_session(ssl, it->second.get());
}

void tls_session_cache::remember(const std::string& key, SSL* ssl) {
    SSL_SESSION* live = SSL_get0_session(ssl);
    if (live == nullptr || SSL_SESSION_is_resumable(live) != 1) return;
    // A copy: OpenSSL marks a connection's own session not resumable when that connection is
    // freed without a TLS shutdown, which is how the proxy ends origin connections.
    SSL_SESSION* copy = SSL_SESSION_dup(live);
    if (copy == nullptr) return;
    if (sessions_.size() >= max_sessions && sessions_.find(key) == sessions_.end()) sessions_.clear();
    sessions_[key] = std::shared_ptr<SSL_SESSION>(copy, SSL_SESSION_free);
}

}  // namespace purser::proxy::detail
