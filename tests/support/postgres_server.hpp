// A real PostgreSQL server for tests and benchmarks, from Debian's postgresql-15: initdb in a
// temporary directory (as the unprivileged `postgres` user when run as root, since PostgreSQL
// refuses to run as root), password authentication, listening on 127.0.0.1 at a free port only,
// stopped and deleted when the object goes.
#pragma once

#include <filesystem>
#include <string>

#include "test_support.hpp"

namespace purser::test {

class postgres_server {
public:
    enum class durability {
        none,     ///< fsync off: test data, and faster on a busy disk.
        durable,  ///< PostgreSQL's defaults (fsync on), as an operator runs it: for benchmarks.
    };
    /// Starts the server; throws with its log when it cannot.
    explicit postgres_server(durability d = durability::none);
    ~postgres_server();
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    /// "postgresql://purser@127.0.0.1:PORT/postgres" (the password is apart: password()).
    [[nodiscard]] std::string conninfo() const;
    [[nodiscard]] const std::string& password() const { return password_; }
    /// A file holding the password (mode 0600), as `fleet.password_file` takes it.
    [[nodiscard]] std::filesystem::path password_file() const { return dir_.path() / "pgpass"; }
    [[nodiscard]] int port() const { return port_; }
    /// The data directory (postmaster.pid names the server's process).
    [[nodiscard]] std::filesystem::path data_dir() const { return dir_.path() / "data"; }

    /// Stops it (fast shutdown) and starts it again on the same port, as an outage would.
    void stop();
    void start();

private:
    std::vector<std::string> as_owner(std::vector<std::string> argv) const;
    temp_dir dir_;
    std::string password_ = "fake-fleet-password-for-tests";
    std::string bin_;
    int port_ = 0;
    durability durability_;
    bool running_ = false;
};

}  // namespace purser::test
