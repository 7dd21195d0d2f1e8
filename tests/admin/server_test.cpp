// The admin listener over a real socket on 127.0.0.1: probes open, the API behind the token.
#include "purser/admin/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include "purser/store/store.hpp"
#include "test_support.hpp"

using namespace purser;
namespace http = boost::beast::http;

namespace {

http::response<http::string_body> get(std::uint16_t port, const std::string& target,
                                      const std::string& auth = "") {
    boost::asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "127.0.0.1");
    if (!auth.empty()) req.set(http::field::authorization, auth);
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res;
}

}  // namespace

TEST_CASE("the admin listener serves probes openly and the API behind the token", "[admin][server]") {
    purser::test::temp_dir dir;
    auto db = store::store::open(dir.path() / "store");
    REQUIRE(db);
    std::shared_ptr<store::store> ledger = std::move(*db);
    REQUIRE(ledger->add_agent("bot", store::policy{}));
    admin::readiness ready;
    ready.store_open = [] { return true; };
    ready.wallet_unlocked = [] { return true; };
    ready.listener_up = [] { return true; };
    auto routes = std::make_shared<const admin::api>(ledger, std::make_shared<proxy::metrics>(),
                                                     ready, admin::bearer_token("t0ken"));
    admin::server_options options;
    options.port = 0;
    admin::server srv(options, routes);
    auto port = srv.listen();
    REQUIRE(port);
    srv.start();

    CHECK(get(*port, "/healthz").result_int() == 200);
    CHECK(get(*port, "/readyz").result_int() == 200);
    auto denied = get(*port, "/agents");
    CHECK(denied.result_int() == 401);
    CHECK(denied[http::field::www_authenticate] == "Bearer realm=\"purser-admin\"");
    auto agents = get(*port, "/agents", "Bearer t0ken");
    CHECK(agents.result_int() == 200);
    CHECK(agents.body().find("\"name\":\"bot\"") != std::string::npos);
    auto metrics = get(*port, "/metrics", "Bearer t0ken");
    CHECK(metrics.result_int() == 200);
    CHECK(metrics[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    srv.stop();
}
