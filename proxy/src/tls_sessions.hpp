// Resumable TLS sessions of origin connections, per worker: a new connection to an HTTPS origin
// this worker has talked to resumes the last session instead of a full handshake (one round trip
// and the origin's signature saved, for the proxy and the merchant).
//
// Only a session of the same key (scheme, host and port, exactly as the pool keys connections)
// is offered, so a resumed connection reaches the name whose certificate was verified when the
// session was made. Used only on the worker's own thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include <openssl/ssl.h>

namespace purser::proxy::detail {

class tls_session_cache {
public:
    /// Offers `key`'s last session to `ssl` before its handshake; OpenSSL falls back to a full
    /// handshake if the origin declines it.
    void offer(const std::string& key, SSL* ssl) const;
    /// Keeps `ssl`'s session for `key` when it can be resumed (for TLS 1.3, once the origin's
    /// ticket has been read, which it has after a response).
    void remember(const std::string& key, SSL* ssl);

    /// Bounded: a client that reaches endless origins must not grow memory forever.
    static constexpr std::size_t max_sessions = 1024;

private:
    std::map<std::string, std::shared_ptr<SSL_SESSION>> sessions_;
};

}  // namespace purser::proxy::detail
