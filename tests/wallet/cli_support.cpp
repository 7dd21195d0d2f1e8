#include "cli_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/keccak.hpp"

extern char** environ;

namespace purser::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s.rfind("0x", 0) == 0) s = s.substr(2);
    return s;
}

std::string quantity(const protocol::uint256& v) { return protocol::to_hex(v.to_be_bytes()); }

}  // namespace

run_result run_purser(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                      const std::filesystem::path& home) {
    static int counter = 0;
    const auto out_path = home / ("stdout." + std::to_string(++counter));
    const auto err_path = home / ("stderr." + std::to_string(counter));

    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string s(*e);
        if (s.rfind("PURSER_", 0) == 0) continue;
        env_strings.push_back(std::move(s));
    }
    env_strings.push_back("PURSER_HOME=" + home.string());
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    // ctest passes PURSER_BIN in the environment too; the compiled-in path is the fallback.
    const char* bin = std::getenv("PURSER_BIN");
    std::vector<std::string> argv_strings{bin != nullptr && *bin != '\0' ? bin : PURSER_BIN};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start " + argv_strings[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    run_result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    std::filesystem::remove(out_path);
    std::filesystem::remove(err_path);
    return r;
}

struct rpc_server::impl {
    std::uint64_t chain_id;
    std::string token;  // lowercase, no 0x
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::thread thread;
    mutable std::mutex m;
    std::map<std::string, protocol::uint256> balances;
    std::vector<std::string> calls;
    std::string credit_to;
    int credit_countdown = -1;
    protocol::uint256 credit_amount;
    std::uint64_t mints = 0;
    unsigned short port = 0;

    json answer(const json& req) {
        const json id = req.value("id", json());
        auto ok = [&](json result) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; };
        auto err = [&](int code, const std::string& msg) {
            return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", msg}}}};
        };
        const std::string method = req.value("method", "");
        const json params = req.value("params", json::array());
        std::lock_guard<std::mutex> lock(m);
        calls.push_back(method + " " + params.dump());
        if (method == "eth_chainId") return ok("0x" + [&] {
            std::stringstream ss;
            ss << std::hex << chain_id;
            return ss.str();
        }());
        if (method == "eth_call") {
            if (!params.is_array() || params.empty() || !params[0].is_object()) return err(-32602, "bad params");
            const std::string to = lower(params[0].value("to", ""));
            const std::string data = lower(params[0].value("data", ""));
            if (to != token) return ok("0x");  // no contract there
            if (data == "313ce567") return ok(quantity(protocol::uint256(6)));
            if (data.size() == 8 + 64 && data.rfind("70a08231", 0) == 0 &&
                data.substr(8, 24) == std::string(24, '0')) {
                const std::string who = data.substr(32);
                if (credit_countdown >= 0 && who == credit_to && credit_countdown-- == 0) {
                    balances[who] = *balances[who].add(credit_amount);
                }
                return ok(quantity(balances[who]));
            }
            return err(3, "execution reverted");
        }
        if (method == "testnet_mint") {
            if (chain_id != 31337) return err(-32601, "the method testnet_mint does not exist");
            if (!params.is_array() || params.size() != 2 || !params[0].is_string() || !params[1].is_string()) {
                return err(-32602, "testnet_mint expects [address, amount]");
            }
            auto amount = protocol::uint256::from_decimal(params[1].get<std::string>());
            if (!amount) return err(-32602, "amount is not a decimal integer");
            const std::string who = lower(params[0].get<std::string>());
            balances[who] = *balances[who].add(*amount);
            ++mints;
            return ok(protocol::to_hex(protocol::keccak256("mint " + std::to_string(mints))));
        }
        return err(-32601, "the method " + method + " does not exist");
    }

    void serve(tcp::socket socket) {
        beast::error_code ec;
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::read(socket, buffer, req, ec);
        if (ec) return;
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "application/json");
        res.keep_alive(false);
        const json body = json::parse(req.body(), nullptr, false);
        if (req.method() != http::verb::post || body.is_discarded()) {
            res.result(http::status::bad_request);
            res.body() = R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})";
        } else {
            res.body() = answer(body).dump();
        }
        res.prepare_payload();
        http::write(socket, res, ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }

    void do_accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) return;  // acceptor closed: the server is stopping
            serve(std::move(socket));
            do_accept();
        });
    }
};

rpc_server::rpc_server(std::uint64_t chain_id, std::string token_address) : impl_(std::make_unique<impl>()) {
    impl_->chain_id = chain_id;
    impl_->token = lower(std::move(token_address));
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    impl_->port = impl_->acceptor.local_endpoint().port();
    impl_->do_accept();
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

rpc_server::~rpc_server() {
    net::post(impl_->ioc, [this] {
        beast::error_code ec;
        impl_->acceptor.close(ec);
    });
    impl_->thread.join();
}

std::string rpc_server::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port) + "/";
}

void rpc_server::set_balance(const std::string& address, const protocol::uint256& v) {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->balances[lower(address)] = v;
}

protocol::uint256 rpc_server::balance(const std::string& address) const {
    std::lock_guard<std::mutex> lock(impl_->m);
    auto it = impl_->balances.find(lower(address));
    return it == impl_->balances.end() ? protocol::uint256() : it->second;
}

void rpc_server::credit_after(const std::string& address, int calls, const protocol::uint256& amount) {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->credit_to = lower(address);
    impl_->credit_countdown = calls;
    impl_->credit_amount = amount;
}

std::vector<std::string> rpc_server::calls() const {
    std::lock_guard<std::mutex> lock(impl_->m);
    return impl_->calls;
}

}  // namespace purser::test
