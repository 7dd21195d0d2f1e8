// The server: listening, accepting, the leaf certificate cache, and a bounded graceful stop. The
// connections themselves are in session*.cpp and tunnel.cpp.
#include "purser/proxy/server.hpp"

#include <algorithm>
#include <thread>
#include <utility>

#include <boost/asio/post.hpp>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "purser/proxy/errc.hpp"
#include "session.hpp"

namespace purser::proxy {

std::unique_ptr<char[]> io_worker::take_chunk() {
    if (spare_chunks.empty()) return std::make_unique_for_overwrite<char[]>(io_chunk);
    auto chunk = std::move(spare_chunks.back());
    spare_chunks.pop_back();
    return chunk;
}

void io_worker::give_chunk(std::unique_ptr<char[]> chunk) {
    // Enough for the bodies a worker relays at once in a busy moment; beyond that, memory goes
    // back to the allocator.
    constexpr std::size_t max_spare = 64;
    if (chunk && spare_chunks.size() < max_spare) spare_chunks.push_back(std::move(chunk));
}

void io_worker::log(const detail::log_line& line) {
    const bool first = log_lines.text.empty();
    line.append_to(log_lines.text);
    log_lines.text += '\n';
    if (log_lines.text.size() >= 64 * 1024) return log_lines.flush();
    if (!first) return;  // a flush is already queued
    // A loop that has stopped runs nothing more (a tunnel ending as the server is destroyed).
    if (ioc.stopped()) return log_lines.flush();
    net::post(ioc, [this] { log_lines.flush(); });
}

void io_worker::register_session(const std::shared_ptr<session_base>& s) {
    if (sessions.size() > 64 && sessions.size() % 64 == 0)
        std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(s);
}

std::shared_ptr<ssl::context> io_worker::leaf_context(const cert_authority& ca,
                                                      const std::string& host, std::string& why) {
    if (auto it = leaf_contexts.find(host); it != leaf_contexts.end()) return it->second;
    auto leaf = ca.mint(host);
    if (!leaf) {
        why = leaf.error().message();
        return nullptr;
    }
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    // An idle intercepted connection then holds no OpenSSL record buffers.
    SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
    // One TLS 1.3 session ticket per handshake, not OpenSSL's two: an agent that resumes needs
    // one, and each ticket costs the proxy a session copy, its encoding, encryption and MAC
    // (about a tenth of a full handshake's CPU).
    SSL_CTX_set_num_tickets(ctx->native_handle(), 1);
    if (SSL_CTX_use_certificate(ctx->native_handle(), leaf->cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx->native_handle(), leaf->key.get()) != 1) {
        ERR_clear_error();
        why = "cannot load the minted certificate";
        return nullptr;
    }
    // Bounded: a client that CONNECTs to endless names must not grow memory forever.
    if (leaf_contexts.size() >= 4096) leaf_contexts.clear();
    leaf_contexts.emplace(host, ctx);
    return ctx;
}

void server::impl::make_workers() {
    unsigned n = cfg->threads != 0 ? cfg->threads : std::thread::hardware_concurrency();
    if (n == 0) n = 1;
    io_workers.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        io_workers.push_back(std::make_unique<io_worker>());
        io_workers.back()->log_lines.out = &log;
    }
}

void server::impl::do_accept() {
    auto& worker = *io_workers[next_worker];
    next_worker = (next_worker + 1) % io_workers.size();
    // The socket is born on its worker's io_context; this handler runs on the acceptor's.
    acceptor.async_accept(worker.ioc,
                          [this, &worker](boost::system::error_code ec, tcp_socket socket) {
                              on_accept(ec, std::move(socket), worker);
                          });
}

void server::impl::on_accept(boost::system::error_code ec, tcp_socket socket, io_worker& worker) {
    if (ec == net::error::operation_aborted || !acceptor.is_open() || stopping) return;
    if (ec) return on_accept_error(ec);
    if (accept_failures != 0) {
        nlohmann::json line;
        line["time"] = detail::access_log::now_iso8601();
        line["event"] = "accept_resumed";
        line["failures"] = accept_failures;
        log.write(line);
        accept_failures = 0;
        accept_backoff = ms(0);
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Made here, so `active` counts it before the cap is checked; it starts on its worker.
    auto s = std::make_shared<session>(*this, worker, tcp_stream(std::move(socket)));
    net::post(worker.ioc, [s = std::move(s)] { s->start(); });
    if (active.load() >= static_cast<long>(max_connections.load())) return pause_accepting();
    do_accept();
}

/// A client that gave up before we accepted it costs one retry. Anything else (EMFILE, ENFILE,
/// ENOBUFS, ENOMEM, or an error we do not know) is likely to repeat at once: the pending
/// connection stays queued, so retrying immediately would spin a core until descriptors free
/// up. We wait instead, 50 ms doubling to 1 s, and log the first failure of each episode only,
/// since a peer can provoke the failures.
void server::impl::on_accept_error(boost::system::error_code ec) {
    if (ec == net::error::connection_aborted || ec == net::error::connection_reset ||
        ec == net::error::interrupted || ec == net::error::try_again)
        return do_accept();
    accept_backoff = accept_backoff == ms(0) ? ms(50) : std::min(accept_backoff * 2, ms(1000));
    if (accept_failures++ == 0) {
        nlohmann::json line;
        line["time"] = detail::access_log::now_iso8601();
        line["event"] = "accept_failing";
        line["error"] = ec.message();
        line["active"] = active.load();
        log.write(line);
    }
    accept_timer.expires_after(accept_backoff);
    accept_timer.async_wait([this](boost::system::error_code wec) {
        if (wec || stopping) return;
        do_accept();
    });
}

/// At max_connections: no accept is pending, so further clients wait in the kernel's listen
/// queue (their connect succeeds, nothing is read) and cost the proxy neither descriptors nor
/// CPU, until a connection closes. Accepting and answering 503 instead would spend a descriptor
/// and a write per attempt, and would spin under the same exhaustion the cap is meant to avoid.
void server::impl::pause_accepting() {
    const auto now = std::chrono::steady_clock::now();
    // Once a minute at most: a peer can move the count across the cap at will.
    if (last_cap_log == std::chrono::steady_clock::time_point{} ||
        now - last_cap_log >= std::chrono::minutes(1)) {
        last_cap_log = now;
        nlohmann::json line;
        line["time"] = detail::access_log::now_iso8601();
        line["event"] = "max_connections_reached";
        line["max_connections"] = max_connections.load();
        log.write(line);
    }
    // From here on a closing connection may resume accepting on another thread, so this
    // function touches nothing but the flag after setting it.
    accept_paused = true;
    // A connection that closed between the count and the flag saw no pause to end.
    if (active.load() < static_cast<long>(max_connections.load()) && accept_paused.exchange(false))
        do_accept();
}

void server::impl::on_connection_closed() {
    if (!accept_paused.load() || stopping) return;
    if (active.load() >= static_cast<long>(max_connections.load())) return;
    if (accept_paused.exchange(false)) net::post(ioc, [this] { do_accept(); });
}

void server::impl::stop_loops() {
    for (auto& w : io_workers) w->ioc.stop();
    ioc.stop();
}

void server::impl::check_drain() {
    if (active.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
        stop_loops();
        return;
    }
    drain_timer.expires_after(ms(20));
    drain_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) check_drain();
    });
}

server::server(std::shared_ptr<const config> cfg, std::shared_ptr<payment_hook> hook,
               std::shared_ptr<authenticator> auth, std::shared_ptr<const cert_authority> ca,
               std::shared_ptr<metrics> stats)
    : impl_(std::make_unique<impl>()) {
    impl_->stats = std::move(stats);
    impl_->cfg = std::move(cfg);
    impl_->max_connections = impl_->cfg->max_connections;
    impl_->hook = hook ? std::move(hook) : std::make_shared<pass_through_hook>();
    impl_->auth = std::move(auth);
    impl_->ca = std::move(ca);
}

server::~server() {
    if (!impl_) return;
    // Connections destroyed with the io_context must not schedule new accepts on it.
    impl_->stopping = true;
    impl_->workers.join();
}

result<std::uint16_t> server::listen() {
    auto& s = *impl_;
    if (auto r = s.log.open(s.cfg->log); !r) return tl::unexpected(r.error());

    boost::system::error_code ec;
    s.upstream_tls.set_default_verify_paths(ec);
    if (ec) return fail(errc::ca_failure, "system trust store: " + ec.message());
    for (const auto& file : s.cfg->upstream_ca) {
        s.upstream_tls.load_verify_file(file.string(), ec);
        if (ec) return fail(errc::ca_failure, "upstream_ca " + file.string() + ": " + ec.message());
    }
    s.upstream_tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                               ssl::context::no_tlsv1_1);
    SSL_CTX_set_mode(s.upstream_tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    if (s.io_workers.empty()) s.make_workers();

    const auto address = net::ip::make_address(s.cfg->listen_host, ec);
    if (ec) return fail(errc::listen_failed, "listen address " + s.cfg->listen_host + ": " + ec.message());
    const tcp::endpoint endpoint(address, s.cfg->listen_port);
    const std::string where = s.cfg->listen_host + ":" + std::to_string(s.cfg->listen_port);
    if (s.acceptor.open(endpoint.protocol(), ec); ec)
        return fail(errc::listen_failed, where + ": " + ec.message());
    s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (s.acceptor.bind(endpoint, ec); ec) return fail(errc::listen_failed, where + ": " + ec.message());
    if (s.acceptor.listen(net::socket_base::max_listen_connections, ec); ec)
        return fail(errc::listen_failed, where + ": " + ec.message());
    const auto port = s.acceptor.local_endpoint(ec).port();
    if (ec) return fail(errc::listen_failed, where + ": " + ec.message());
    s.do_accept();
    s.listening = true;
    return port;
}

bool server::accepting() const { return impl_->listening && !impl_->stopping; }

void server::run() {
    auto& s = *impl_;
    if (s.io_workers.empty()) s.make_workers();
    for (auto& w : s.io_workers) w->thread = std::thread([&w = *w] { w.ioc.run(); });
    s.ioc.run();
    for (auto& w : s.io_workers) {
        w->thread.join();
        w->log_lines.flush();  // what the stopped loop had not written yet
    }
}

result<void> server::reload(std::shared_ptr<const config> next) {
    auto& s = *impl_;
    if (next) {
        {
            const std::lock_guard lock(s.cfg_mutex);
            s.cfg = next;
        }
        s.max_connections = next->max_connections;
        // A connection closed while the old cap held may be waiting for this one to resume.
        s.on_connection_closed();
    }
    const auto cfg = s.current_config();
    auto reopened = s.log.reopen(cfg->log);
    // OpenSSL 3 locks the X509_STORE itself, so adding anchors while handshakes run is safe.
    // Anchors are only ever added: one that was removed from the list stays trusted until a
    // restart.
    for (const auto& file : cfg->upstream_ca) {
        boost::system::error_code ec;
        s.upstream_tls.load_verify_file(file.string(), ec);
        // A certificate already present is reported as an error by some OpenSSL versions;
        // the file loaded, which is what matters.
        if (ec && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
            ERR_clear_error();
            return fail(errc::ca_failure, "upstream_ca " + file.string() + ": " + ec.message());
        }
        ERR_clear_error();
    }
    return reopened;
}

void server::stop() {
    auto* s = impl_.get();
    net::post(s->ioc, [s] {
        if (s->stopping.exchange(true)) return;
        boost::system::error_code ignored;
        // A pending accept back-off needs no cancel (which could race the accept chain on
        // another thread): its handler sees `stopping`, and the drain ends run() regardless.
        s->acceptor.close(ignored);
        // Each connection hears about it on its own worker.
        for (auto& w : s->io_workers) {
            net::post(w->ioc, [&w = *w] {
                auto live = std::move(w.sessions);
                w.sessions.clear();
                for (auto& weak : live)
                    if (auto p = weak.lock()) p->on_stop();
            });
        }
        s->drain_deadline = std::chrono::steady_clock::now() + ms(s->current_config()->shutdown_grace_ms);
        s->check_drain();
    });
}

}  // namespace purser::proxy
