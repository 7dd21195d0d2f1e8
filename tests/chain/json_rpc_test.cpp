// json_rpc_client over real sockets on 127.0.0.1: a scripted JSON-RPC server for the answers and
// the ways an answer can be wrong, and bare listening sockets for the ways an RPC can fail to
// answer at all. Every call must return, within its deadline, with an error that says why.
#include "purser/chain/json_rpc.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"
#include "purser/testnet/http.hpp"

using namespace purser;
using chain::json_rpc_client;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

testnet::http_response respond(unsigned status, std::string body) {
    testnet::http_response r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
    return r;
}

/// A JSON-RPC server whose method names pick the answer. It records the ids it has seen.
struct scripted_rpc {
    std::mutex mutex;
    std::set<std::uint64_t> ids;
    std::unique_ptr<testnet::http_server> server;

    scripted_rpc() {
        auto started = testnet::http_server::start(0, [this](const testnet::http_request& req) {
            return answer(req);
        });
        REQUIRE(started);
        server = std::move(*started);
    }

    testnet::http_response answer(const testnet::http_request& req) {
        const auto body = json::parse(req.body, nullptr, false);
        if (body.is_discarded()) return respond(400, "not json");
        const auto id = body.at("id");
        {
            const std::lock_guard<std::mutex> lock(mutex);
            ids.insert(id.get<std::uint64_t>());
        }
        const std::string method = body.at("method");
        json reply = {{"jsonrpc", "2.0"}, {"id", id}};
        if (method == "eth_chainId") {
            reply["result"] = "0x14a34";
        } else if (method == "eth_call") {
            reply["result"] = "0x" + std::string(62, '0') + "2a";
        } else if (method == "reverts") {
            reply["error"] = {{"code", -32000}, {"message", "execution reverted"}};
        } else if (method == "unavailable") {
            return respond(503, "{}");
        } else if (method == "garbled") {
            return respond(200, "{\"jsonrpc\": \"2.0\", \"result\": ");
        } else if (method == "no_result") {
            // Neither result nor error: a reply that answers nothing.
        } else {
            reply["error"] = {{"code", -32601}, {"message", "method not found"}};
        }
        return respond(200, reply.dump());
    }

    json_rpc_client client(milliseconds timeout = json_rpc_client::default_timeout) const {
        return json_rpc_client(*chain::parse_rpc_url(server->base_url()), timeout);
    }
};

/// A socket bound to 127.0.0.1 on a free port. With listen(), the kernel completes every TCP
/// handshake on its own and nobody ever reads or answers: the RPC that accepts and hangs.
/// Without listen(), connections to the port are refused.
class bare_socket {
public:
    explicit bare_socket(bool listening) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        if (listening) REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
    }
    ~bare_socket() { ::close(fd_); }
    bare_socket(const bare_socket&) = delete;
    bare_socket& operator=(const bare_socket&) = delete;

    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

/// How long `f` took.
template <class F>
milliseconds timed(F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

TEST_CASE("json_rpc: parse_rpc_url reads scheme and host and port and target", "[chain]") {
    auto plain = chain::parse_rpc_url("http://127.0.0.1:8545");
    REQUIRE(plain);
    CHECK_FALSE(plain->tls);
    CHECK(plain->host == "127.0.0.1");
    CHECK(plain->port == "8545");
    CHECK(plain->target == "/");

    auto hosted = chain::parse_rpc_url("https://rpc.example/v3/key");
    REQUIRE(hosted);
    CHECK(hosted->tls);
    CHECK(hosted->port == "443");
    CHECK(hosted->target == "/v3/key");
    // The key in the path stays out of anything shown to a user.
    CHECK(chain::display_origin(*hosted) == "https://rpc.example:443");

    auto v6 = chain::parse_rpc_url("http://[::1]:8545/");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(chain::display_origin(*v6) == "http://[::1]:8545");

    CHECK_FALSE(chain::parse_rpc_url("ftp://host"));
    CHECK_FALSE(chain::parse_rpc_url("http://user:pw@host"));
    CHECK_FALSE(chain::parse_rpc_url("http://host:99999"));
    CHECK_FALSE(chain::parse_rpc_url("http://:80"));
}

TEST_CASE("json_rpc: result members of eth_chainId and eth_call", "[chain]") {
    scripted_rpc rpc;
    const auto client = rpc.client();
    auto chain_id = client.call("eth_chainId", json::array());
    REQUIRE(chain_id);
    CHECK(*chain_id == "0x14a34");
    auto word = client.call("eth_call", json::array({json{{"to", "0x0"}, {"data", "0x"}}, "latest"}));
    REQUIRE(word);
    CHECK(*word == "0x" + std::string(62, '0') + "2a");
}

TEST_CASE("json_rpc: a JSON-RPC error object is an error with its message and code", "[chain]") {
    scripted_rpc rpc;
    auto r = rpc.client().call("reverts", json::array());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::protocol_error);
    CHECK(r.error().detail == "reverts: execution reverted (code -32000)");
}

TEST_CASE("json_rpc: a non-200 status is an error naming the status", "[chain]") {
    scripted_rpc rpc;
    auto r = rpc.client().call("unavailable", json::array());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::protocol_error);
    CHECK(r.error().detail.find("answered HTTP 503") != std::string::npos);
}

TEST_CASE("json_rpc: malformed JSON or a reply without result is an error", "[chain]") {
    scripted_rpc rpc;
    auto garbled = rpc.client().call("garbled", json::array());
    REQUIRE_FALSE(garbled);
    CHECK(garbled.error().code == protocol::errc::invalid_json);
    auto empty = rpc.client().call("no_result", json::array());
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == protocol::errc::missing_field);
}

TEST_CASE("json_rpc: a server that accepts and never answers costs one deadline", "[chain][timeout]") {
    const bare_socket silent(true);
    const std::string origin = "http://127.0.0.1:" + std::to_string(silent.port());
    const json_rpc_client client(*chain::parse_rpc_url(origin + "/v3/secret-api-key"), milliseconds(300));
    result<json> r;
    const auto took = timed([&] { r = client.call("eth_chainId", json::array()); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::timed_out);
    CHECK(r.error().detail == "RPC " + origin + " did not answer within 300 ms");
    CHECK(r.error().message().find("secret-api-key") == std::string::npos);
    CHECK(took >= milliseconds(250));
    CHECK(took < milliseconds(5000));
}

TEST_CASE("json_rpc: a silent TLS server times out in the handshake", "[chain][timeout]") {
    const bare_socket silent(true);
    const std::string origin = "https://127.0.0.1:" + std::to_string(silent.port());
    const json_rpc_client client(*chain::parse_rpc_url(origin), milliseconds(300));
    result<json> r;
    const auto took = timed([&] { r = client.call("eth_chainId", json::array()); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::timed_out);
    CHECK(r.error().detail == "RPC " + origin + " did not answer within 300 ms");
    CHECK(took < milliseconds(5000));
}

TEST_CASE("json_rpc: the default deadline is 10 s", "[chain][timeout]") {
    const bare_socket silent(true);
    const json_rpc_client client(
        *chain::parse_rpc_url("http://127.0.0.1:" + std::to_string(silent.port())));
    CHECK(client.timeout() == std::chrono::seconds(10));
}

TEST_CASE("json_rpc: a refused port fails at once with the connect error", "[chain]") {
    const bare_socket closed(false);
    const std::string url = "http://127.0.0.1:" + std::to_string(closed.port());
    const json_rpc_client client(*chain::parse_rpc_url(url), milliseconds(3000));
    result<json> r;
    const auto took = timed([&] { r = client.call("eth_chainId", json::array()); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::connection_refused);
    CHECK(r.error().detail == "connect to 127.0.0.1:" + std::to_string(closed.port()));
    CHECK(took < milliseconds(2000));
}

TEST_CASE("json_rpc: a host name goes through DNS within the deadline", "[chain]") {
    scripted_rpc rpc;
    const json_rpc_client client(
        *chain::parse_rpc_url("http://localhost:" + std::to_string(rpc.server->port())),
        milliseconds(5000));
    auto r = client.call("eth_chainId", json::array());
    REQUIRE(r);
    CHECK(*r == "0x14a34");
}

TEST_CASE("json_rpc: one client shared by several threads", "[chain][threads]") {
    scripted_rpc rpc;
    const auto client = rpc.client();
    constexpr int threads = 4;
    constexpr int calls_each = 10;
    std::vector<int> ok(threads, 0);
    {
        std::vector<std::jthread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&client, &ok, t] {
                for (int i = 0; i < calls_each; ++i) {
                    if (auto r = client.call("eth_chainId", json::array()); r && *r == "0x14a34") ++ok[t];
                }
            });
        }
    }
    for (int t = 0; t < threads; ++t) CHECK(ok[t] == calls_each);
    // Every request carried its own id.
    const std::lock_guard<std::mutex> lock(rpc.mutex);
    CHECK(rpc.ids.size() == static_cast<std::size_t>(threads * calls_each));
}
