// Shared by the proxy server test files: a scripted payment hook, the proxy itself on
// 127.0.0.1:0, a test TLS CA, and a raw HTTP/1.1 client held open by the test.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "purser/proxy/server.hpp"
#include "test_origin.hpp"
#include "test_support.hpp"

namespace purser::proxy::test_support {

class map_authenticator final : public authenticator {
public:
    identity authenticate(std::string_view name, std::string_view token) override {
        if (name == "broken") return {std::nullopt, "store unavailable: read-only file system"};
        if (name == "bot" && token == "tok3n") return {std::string(name), {}};
        if (name == "other" && token == "pw") return {std::string(name), {}};
        return {};
    }
};

/// A scripted hook that records every call.
class recording_hook final : public payment_hook {
public:
    payment_plan::action answer = payment_plan::action::pay;
    /// Runs after each 402 is seen, before the plan is returned (e.g. to take the origin away).
    std::function<void()> on_402;
    /// Added to the paid answer (to check what reaches the agent).
    header_list paid_headers = {{"Purser-Paid", "10000 USDC purser-testnet 0xabc"}};
    /// A paid answer of 402 is answered with a retry plan (token 43, the next 44, ...) this many
    /// times: the hook that recovered from a corrective 402.
    int retries_on_402 = 0;
    std::mutex m;
    std::vector<request_info> required;
    std::vector<upstream_response> responses;
    std::vector<unsigned> paid_statuses;
    std::vector<std::uint64_t> paid_tokens;
    std::vector<std::string> failures;
    std::vector<delivery> deliveries;

    payment_plan on_payment_required(const request_info& r, const upstream_response& res) override {
        if (on_402) on_402();
        std::lock_guard lock(m);
        required.push_back(r);
        responses.push_back(res);
        payment_plan plan;
        plan.what = answer;
        plan.token = 42;
        if (answer == payment_plan::action::pay)
            plan.add_request_headers = {{"X-PAYMENT", "c2lnbmVk"}};
        else
            plan.add_response_headers = {{"Purser-Decision", "declined; reason=daily_limit_exceeded"}};
        plan.log_fields = {{"ledger_id", "7"}};
        return plan;
    }
    paid_outcome on_paid_response(const payment_plan& plan, const request_info&, unsigned status,
                                  const header_list&) override {
        std::lock_guard lock(m);
        paid_tokens.push_back(plan.token);
        paid_statuses.push_back(status);
        paid_outcome out{paid_headers, {{"paid", "10000"}}, std::nullopt};
        if (status == 402 && retries_on_402 > 0) {
            --retries_on_402;
            payment_plan again;
            again.what = payment_plan::action::pay;
            again.token = plan.token + 1;
            again.add_request_headers = {{"X-PAYMENT", "c2lnbmVkIGFnYWlu"}};
            out.add_response_headers = {{"Purser-Decision", "failed; this must not reach the agent"}};
            out.retry = std::move(again);
        }
        return out;
    }
    paid_outcome on_paid_failure(const payment_plan&, const request_info&, delivery delivered,
                                 std::string_view why) override {
        std::lock_guard lock(m);
        failures.emplace_back(why);
        deliveries.push_back(delivered);
        return {{{"Purser-Decision", delivered == delivery::not_sent ? "released; ledger=7"
                                                                      : "in_doubt; ledger=7"}},
                {},
                std::nullopt};
    }
};

/// The proxy on 127.0.0.1:0 in this process, served by two threads.
class proxy_fixture {
public:
    /// `with_ca` false starts it without an interception CA even when `intercept` is set (as an
    /// embedding program may); otherwise the CA is loaded whenever something is intercepted.
    explicit proxy_fixture(std::function<void(config&)> tweak = {},
                           std::shared_ptr<payment_hook> hook = nullptr, bool with_ca = true) {
        auto c = std::make_shared<config>();
        c->listen_port = 0;
        c->threads = 2;
        c->ca_dir = home.path() / "ca";
        c->log = (home.path() / "access.log").string();
        c->intercept = {};
        if (tweak) tweak(*c);
        cfg = c;
        std::shared_ptr<const cert_authority> ca;
        if (with_ca && !c->intercept.empty()) {
            REQUIRE(cert_authority::init(c->ca_dir));
            ca = *cert_authority::load(c->ca_dir);
        }
        srv = std::make_unique<server>(cfg, std::move(hook), std::make_shared<map_authenticator>(), ca);
        auto p = srv->listen();
        REQUIRE(p);
        port = *p;
        thread = std::thread([this] { srv->run(); });
    }
    ~proxy_fixture() {
        srv->stop();
        thread.join();
    }

    std::string proxy_arg(const std::string& creds = "bot:tok3n") const {
        return "-x http://" + (creds.empty() ? "" : creds + "@") + "127.0.0.1:" + std::to_string(port);
    }
    std::string log_text() const { return purser::test::read_file(home.path() / "access.log"); }
    /// The log once it holds `needle`. The proxy writes a request's line after the response has
    /// left, so curl can exit first: wait for it (bounded) rather than race it.
    std::string log_with(const std::string& needle) const {
        for (int i = 0; i < 400 && log_text().find(needle) == std::string::npos; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        return log_text();
    }

    purser::test::temp_dir home;
    std::shared_ptr<const config> cfg;
    std::unique_ptr<server> srv;
    std::uint16_t port = 0;
    std::thread thread;
};

inline std::string url(std::uint16_t port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
}

inline std::string header_of(const purser::test::request& r, const std::string& name) {
    auto it = r.find(name);
    return it == r.end() ? std::string("<absent>") : std::string(it->value());
}

/// A test CA for the origin's own TLS certificate (what a real merchant's public CA would be).
struct test_tls {
    purser::test::temp_dir dir;
    std::shared_ptr<purser::test::ssl::context> ctx;
    explicit test_tls(const std::string& host = "127.0.0.1") {
        REQUIRE(cert_authority::init(dir.path()));
        auto ca = cert_authority::load(dir.path());
        REQUIRE(ca);
        auto leaf = (*ca)->mint(host);
        REQUIRE(leaf);
        ctx = std::make_shared<purser::test::ssl::context>(purser::test::ssl::context::tls_server);
        REQUIRE(SSL_CTX_use_certificate(ctx->native_handle(), leaf->cert.get()) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey(ctx->native_handle(), leaf->key.get()) == 1);
    }
    std::string ca_file() const { return (dir.path() / "ca.crt").string(); }
};

/// A client connection held open by the test, speaking raw HTTP/1.1.
class raw_client {
public:
    explicit raw_client(std::uint16_t port) : socket_(io_) {
        socket_.connect({purser::test::net::ip::make_address("127.0.0.1"), port});
    }
    void send(const std::string& bytes) {
        purser::test::net::write(socket_, purser::test::net::buffer(bytes));
    }
    /// True when something (bytes or the peer closing) arrives within `timeout_ms`.
    bool readable_within(int timeout_ms) {
        pollfd p{socket_.native_handle(), POLLIN, 0};
        return ::poll(&p, 1, timeout_ms) > 0;
    }
    /// Reads until `needle` has arrived or the peer closes; bounded so a broken test cannot hang.
    std::string read_until(const std::string& needle) {
        char buf[4096];
        for (int i = 0; i < 300 && got_.find(needle) == std::string::npos; ++i) {
            if (!readable_within(100)) continue;
            boost::system::error_code ec;
            const auto n = socket_.read_some(purser::test::net::buffer(buf), ec);
            got_.append(buf, n);
            if (ec) break;
        }
        return got_;
    }
    void close() {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }
    /// Sends FIN: the agent has no more to say but still reads.
    void shutdown_send() {
        boost::system::error_code ignored;
        socket_.shutdown(purser::test::tcp::socket::shutdown_send, ignored);
    }

private:
    purser::test::net::io_context io_;
    purser::test::tcp::socket socket_;
    std::string got_;
};

inline std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
        ++n;
    return n;
}

}  // namespace purser::proxy::test_support
