// `--detach`: the parent returns once the background server is ready, or fails with the reason.
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "process.hpp"

namespace fs = std::filesystem;
using purser::test::env_map;
using purser::test::run;

namespace {

struct temp_home {
    fs::path path = fs::temp_directory_path() / ("purser-detach-" + std::to_string(::getpid()) + "-" +
                                                  std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    temp_home() { fs::create_directories(path); }
    ~temp_home() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    env_map env() const { return {{"PURSER_HOME", path.string()}, {"PURSER_TESTNET_BASE_PORT", "0"}}; }
};

bool alive(const fs::path& pid_file) {
    std::ifstream in(pid_file);
    long pid = 0;
    return (in >> pid) && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
}

}  // namespace

TEST_CASE("testnet up --detach returns once ready, and a second one in the same dir is refused", "[e2e]") {
    temp_home home;
    auto up = run({PURSER_BIN, "testnet", "up", "--detach"}, home.env());
    INFO(up.out << up.err);
    REQUIRE(up.exit_code == 0);
    CHECK(up.out.find("purser testnet: ready; wrote") != std::string::npos);
    const auto dir = home.path / "testnet";
    CHECK(fs::exists(dir / "testnet.env"));
    CHECK(alive(dir / "testnet.pid"));

    auto again = run({PURSER_BIN, "testnet", "up", "--detach"}, home.env());
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("stopped before it was ready") != std::string::npos);
    CHECK(again.err.find("already running") != std::string::npos);

    auto down = run({PURSER_BIN, "testnet", "down"}, home.env());
    CHECK(down.exit_code == 0);
    CHECK_FALSE(alive(dir / "testnet.pid"));
}

TEST_CASE("proxy --detach that cannot listen fails in the parent with the reason", "[e2e]") {
    temp_home home;
    // A port that is taken: bound and listening for the whole test.
    const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(taken >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(taken, 1) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
    const std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

    auto r = run({PURSER_BIN, "proxy", "--detach", "--no-payments", "--admin-listen", "off", "--listen", listen}, home.env());
    ::close(taken);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("stopped before it was ready") != std::string::npos);
    CHECK(r.err.find(listen) != std::string::npos);
    CHECK_FALSE(fs::exists(home.path / "proxy.pid"));
}

TEST_CASE("proxy --detach serves after the parent returned, and SIGTERM removes its pid file", "[e2e]") {
    temp_home home;
    auto r = run({PURSER_BIN, "proxy", "--detach", "--no-payments", "--admin-listen", "off", "--listen", "127.0.0.1:0"}, home.env());
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("purser proxy listening on 127.0.0.1:") != std::string::npos);
    const auto pid_file = home.path / "proxy.pid";
    REQUIRE(alive(pid_file));
    long pid = 0;
    std::ifstream(pid_file) >> pid;
    ::kill(static_cast<pid_t>(pid), SIGTERM);
    for (int i = 0; i < 300 && ::kill(static_cast<pid_t>(pid), 0) == 0; ++i) ::usleep(100'000);
    CHECK(::kill(static_cast<pid_t>(pid), 0) != 0);
    CHECK_FALSE(fs::exists(pid_file));
}
