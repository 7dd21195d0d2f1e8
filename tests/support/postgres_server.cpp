#include "postgres_server.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "process.hpp"

namespace purser::test {
namespace {

// A port nothing listens on right now (bind to 0, read it back, close): PostgreSQL binds it a
// moment later; a clash fails loudly at start, never silently.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("no free loopback port");
    }
    const int port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

std::string postgres_bin() {
    for (const char* dir : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"}) {
        if (std::filesystem::exists(std::string(dir) + "/initdb")) return dir;
    }
    throw std::runtime_error("PostgreSQL server binaries not found (scripts/install-deps.sh installs postgresql-15)");
}

}  // namespace

std::vector<std::string> postgres_server::as_owner(std::vector<std::string> argv) const {
    if (::geteuid() != 0) return argv;
    argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    return argv;
}

postgres_server::postgres_server(durability d) : bin_(postgres_bin()), port_(free_port()), durability_(d) {
    {
        std::ofstream(password_file()) << password_ << "\n";
        std::filesystem::permissions(password_file(), std::filesystem::perms::owner_read |
                                                           std::filesystem::perms::owner_write);
    }
    const auto pwfile = dir_.path() / "initdb-pw";
    std::ofstream(pwfile) << password_ << "\n";
    if (::geteuid() == 0) {
        const passwd* pg = ::getpwnam("postgres");
        if (pg == nullptr) throw std::runtime_error("no postgres user (install postgresql-15)");
        if (::chown(dir_.path().c_str(), pg->pw_uid, pg->pw_gid) != 0 ||
            ::chown(pwfile.c_str(), pg->pw_uid, pg->pw_gid) != 0) {
            throw std::runtime_error("cannot hand the test directory to postgres");
        }
    }
    auto init = run(as_owner({bin_ + "/initdb", "-D", (dir_.path() / "data").string(), "-U", "purser",
                              "--auth=scram-sha-256", "--pwfile=" + pwfile.string(), "--no-sync",
                              "--no-instructions", "-E", "UTF8", "--locale=C"}));
    if (init.exit_code != 0) throw std::runtime_error("initdb failed: " + init.out + init.err);
    start();
}

postgres_server::~postgres_server() {
    if (running_) stop();
}

void postgres_server::start() {
    const std::string dir = dir_.path().string();
    // Loopback only, the socket in the server's own directory; no durability for test data.
    std::string options = "-p " + std::to_string(port_) + " -k " + dir +
                          " -c listen_addresses=127.0.0.1 -c max_connections=200";
    if (durability_ == durability::none) options += " -c fsync=off -c full_page_writes=off";
    auto r = run(as_owner({bin_ + "/pg_ctl", "-D", dir + "/data", "-l", dir + "/server.log", "-w", "-t", "60",
                           "-o", options, "start"}));
    if (r.exit_code != 0) {
        std::ifstream log(dir_.path() / "server.log");
        std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        throw std::runtime_error("PostgreSQL did not start: " + r.out + r.err + text);
    }
    running_ = true;
}

void postgres_server::stop() {
    (void)run(as_owner({bin_ + "/pg_ctl", "-D", (dir_.path() / "data").string(), "-m", "fast", "-w", "stop"}));
    running_ = false;
}

std::string postgres_server::conninfo() const {
    return "postgresql://purser@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

}  // namespace purser::test
