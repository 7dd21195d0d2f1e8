// The access log's `client` field: the agent connection each request came on, so keep-alive reuse
// (the runtime matrix's "second paid request on the same connection") is visible in the log.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "proxy_fixture.hpp"
#include "test_origin.hpp"

using purser::proxy::config;
using purser::proxy::test_support::proxy_fixture;
using purser::proxy::test_support::raw_client;
using purser::test::origin_context;
using purser::test::origin_server;

namespace {

std::string get_line(std::uint16_t port, const std::string& path) {
    return "GET http://127.0.0.1:" + std::to_string(port) + path +
           " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
}

// The log's `client` per request path.
std::map<std::string, std::string> client_by_path(const std::string& log) {
    std::map<std::string, std::string> out;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        auto j = nlohmann::json::parse(line);
        auto url = j.at("url").get<std::string>();
        out[url.substr(url.rfind('/'))] = j.at("client").get<std::string>();
    }
    return out;
}

}  // namespace

TEST_CASE("the access log names each request's agent connection as `client`", "[proxy]") {
    origin_server origin([](origin_context& ctx) {
        return purser::test::text_response(200, std::string(ctx.req.target()) + " done");
    });
    proxy_fixture proxy([](config& c) { c.default_agent = "bot"; });
    // Both open at once, so their ports differ; `first` sends two requests on its connection.
    raw_client first(proxy.port);
    raw_client second(proxy.port);
    first.send(get_line(origin.port(), "/a"));
    REQUIRE(first.read_until("/a done").find("/a done") != std::string::npos);
    second.send(get_line(origin.port(), "/b"));
    REQUIRE(second.read_until("/b done").find("/b done") != std::string::npos);
    first.send(get_line(origin.port(), "/c"));
    REQUIRE(first.read_until("/c done").find("/c done") != std::string::npos);

    // Each worker writes its own lines in batches, so wait for every path, not just the last.
    for (const char* path : {"/a\"", "/b\""}) (void)proxy.log_with(path);
    auto clients = client_by_path(proxy.log_with("/c\""));
    INFO(proxy.log_text());
    REQUIRE(clients.size() == 3);
    CHECK(clients.at("/a").rfind("127.0.0.1:", 0) == 0);
    CHECK(clients.at("/a") == clients.at("/c"));
    CHECK(clients.at("/a") != clients.at("/b"));
}
