// A TCP stream that is plain or carries TLS, decided at run time. The agent's connection becomes
// TLS when a CONNECT is intercepted; an origin connection is TLS for https. One type for both
// keeps every read and write written once.
#pragma once

#include <memory>
#include <utility>

#include "asio.hpp"

namespace purser::proxy {

class either_stream {
public:
    /// A plain stream around an accepted or to-be-connected socket.
    explicit either_stream(tcp_stream plain)
        : plain_(std::make_unique<tcp_stream>(std::move(plain))) {}
    /// A TLS client stream, not yet connected.
    either_stream(const io_executor& executor, ssl::context& tls)
        : secure_(std::make_unique<tls_stream>(executor, tls)) {}

    [[nodiscard]] bool is_tls() const { return secure_ != nullptr; }
    [[nodiscard]] tcp_stream& lowest() {
        return secure_ ? beast::get_lowest_layer(*secure_) : *plain_;
    }
    [[nodiscard]] io_executor get_executor() { return lowest().get_executor(); }
    /// Precondition: is_tls().
    [[nodiscard]] tls_stream& tls() { return *secure_; }

    /// Puts TLS (with `context`) over the plain stream; nothing may be pending on it.
    void wrap_in_tls(ssl::context& context) {
        secure_ = std::make_unique<tls_stream>(std::move(*plain_), context);
        plain_.reset();
    }

    /// Calls f with the stream to read and write: the TLS stream, or the plain one.
    template <class F>
    void visit(F&& f) {
        if (secure_) std::forward<F>(f)(*secure_);
        else std::forward<F>(f)(*plain_);
    }

private:
    std::unique_ptr<tcp_stream> plain_;
    std::unique_ptr<tls_stream> secure_;
};

}  // namespace purser::proxy
