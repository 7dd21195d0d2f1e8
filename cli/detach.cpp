#include "detach.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "options.hpp"

namespace purser::cli {
namespace {

constexpr char ready_mark = 'R';

void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// The last lines of the child's log: why it stopped, for the user who only sees the parent.
std::string log_tail(const std::filesystem::path& file, std::size_t lines) {
    std::ifstream in(file, std::ios::binary);
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::ostringstream out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
        out << "  " << all[i] << "\n";
    return out.str();
}

}  // namespace

readiness::~readiness() {
    if (fd_ >= 0) ::close(fd_);
}

readiness& readiness::operator=(readiness&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

void readiness::ready(const std::string& message) {
    if (fd_ < 0) return;
    write_all(fd_, std::string(1, ready_mark) + message);
    ::close(fd_);
    fd_ = -1;
}

std::optional<int> detach(const std::filesystem::path& log_file, readiness& signal) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return report(std::string("--detach: pipe: ") + std::strerror(errno));
    }
    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return report("--detach: cannot open " + log_file.string() + ": " + std::strerror(errno));
    }
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = ::fork();
    if (pid < 0) return report(std::string("--detach: fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::close(fds[0]);
        ::setsid();
        const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        if (null_fd >= 0) ::close(null_fd);
        ::close(log_fd);
        signal = readiness(fds[1]);
        return std::nullopt;
    }
    ::close(fds[1]);
    ::close(log_fd);
    // EOF without the mark means the child ended (or closed its end) before it was ready.
    std::string got;
    char buf[512];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    if (!got.empty() && got[0] == ready_mark) {
        std::cout << got.substr(1) << std::flush;
        return 0;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::cerr << "purser: the background process stopped before it was ready; the end of "
              << log_file.string() << ":\n"
              << log_tail(log_file, 10);
    return 1;
}

}  // namespace purser::cli
