#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace purser::test {
namespace {

std::vector<std::string> merged_env(const env_map& extra) {
    env_map all;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : extra) all[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : all) out.push_back(k + "=" + v);
    return out;
}

// fork + exec with stdout/stderr redirected to the given fds; never returns in the child.
int spawn(const std::vector<std::string>& argv, const env_map& env, int out_fd, int err_fd) {
    auto envs = merged_env(env);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);

    int pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execvpe(cargv[0], cargv.data(), cenv.data());
        std::fprintf(stderr, "exec %s failed: %s\n", cargv[0], std::strerror(errno));
        _exit(127);
    }
    return pid;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

run_result run(const std::vector<std::string>& argv, const env_map& env,
               std::chrono::seconds timeout) {
    char out_name[] = "/tmp/purser-run-out-XXXXXX";
    char err_name[] = "/tmp/purser-run-err-XXXXXX";
    int out_fd = mkstemp(out_name);
    int err_fd = mkstemp(err_name);
    int pid = spawn(argv, env, out_fd, err_fd);
    close(out_fd);
    close(err_fd);
    run_result r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
        int w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            r.exit_code = decode_status(status);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            r.exit_code = -2;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.out = slurp(out_name);
    r.err = slurp(err_name);
    std::filesystem::remove(out_name);
    std::filesystem::remove(err_name);
    return r;
}

process::process(const std::vector<std::string>& argv, const env_map& env,
                 const std::filesystem::path& log_dir, const std::string& name) {
    std::filesystem::create_directories(log_dir);
    out_path_ = log_dir / (name + ".log");
    int fd = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) throw std::runtime_error("cannot open " + out_path_.string());
    pid_ = spawn(argv, env, fd, fd);
    close(fd);
}

process::~process() {
    if (pid_ > 0 && !reaped_) {
        kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 500; ++i) {
            if (waitpid(pid_, &status, WNOHANG) == pid_) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill(-pid_, SIGKILL);
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
    }
}

std::string process::output() const { return slurp(out_path_); }

std::string process::wait_for(const std::regex& pattern, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::istringstream lines(output());
        std::string line;
        while (std::getline(lines, line)) {
            std::smatch m;
            if (std::regex_search(line, m, pattern)) return m.size() > 1 ? m[1].str() : m[0].str();
        }
        int status = 0;
        if (!reaped_ && waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            exit_status_ = decode_status(status);
            throw std::runtime_error("process exited (" + std::to_string(decode_status(status)) +
                                     ") before printing the expected line:\n" + output());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("timed out waiting for output; got:\n" + output());
}

int process::wait_exit(std::chrono::seconds timeout) {
    return signal_and_wait(0, timeout);
}

bool process::running() {
    if (reaped_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        exit_status_ = decode_status(status);
        return false;
    }
    return true;
}

int process::signal_and_wait(int sig, std::chrono::seconds timeout) {
    if (reaped_) return exit_status_;
    if (sig != 0) kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            exit_status_ = decode_status(status);
            return exit_status_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -2;
}

env_map read_env_file(const std::filesystem::path& path) {
    env_map out;
    std::istringstream lines(slurp(path));
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("export ", 0) == 0) line = line.substr(7);
        auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
        std::string v = line.substr(eq + 1);
        if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
            v = v.substr(1, v.size() - 2);
        }
        out[line.substr(0, eq)] = v;
    }
    return out;
}

std::optional<std::string> http_reply::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
}

http_reply curl(const std::vector<std::string>& args, const env_map& env) {
    std::vector<std::string> argv{"curl", "-sS", "-i", "--max-time", "60"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, env);
    http_reply reply;
    reply.exit_code = r.exit_code;
    reply.raw = r.out;
    // curl -i prints every response head (a CONNECT's 200, a 100 Continue) before the last one.
    std::size_t pos = 0;
    while (pos < r.out.size() && r.out.compare(pos, 5, "HTTP/") == 0) {
        auto end = r.out.find("\r\n\r\n", pos);
        if (end == std::string::npos) break;
        std::string head = r.out.substr(pos, end - pos);
        pos = end + 4;
        reply.headers.clear();
        std::istringstream lines(head);
        std::string line;
        std::getline(lines, line);
        auto sp = line.find(' ');
        reply.status = sp == std::string::npos ? 0 : static_cast<unsigned>(std::atoi(line.c_str() + sp + 1));
        while (std::getline(lines, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            reply.headers.emplace(name, value);
        }
    }
    reply.body = r.out.substr(pos);
    return reply;
}

std::size_t count_lines(const std::string& text, const std::string& prefix) {
    std::istringstream lines(text);
    std::string line;
    std::size_t n = 0;
    while (std::getline(lines, line)) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
}

std::string which(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        auto candidate = std::filesystem::path(dir) / program;
        if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

}  // namespace purser::test
