// Helpers shared by every test executable: vector files, temporary directories, shell commands.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace purser::test {

#ifdef PURSER_VECTORS_DIR  // defined for test executables; the benchmarks include this file too
/// Loads tests/vectors/<name> (the conformance vectors).
inline nlohmann::json load_vectors(const std::string& name) {
    std::ifstream in(std::string(PURSER_VECTORS_DIR) + "/" + name);
    if (!in) throw std::runtime_error("cannot open vector file " + name);
    return nlohmann::json::parse(in);
}
#endif

/// A fresh directory under the system temp dir, removed when the object goes away.
class temp_dir {
public:
    temp_dir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("purser-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct command_result {
    int exit_code = -1;  ///< -1 when the command could not run or did not exit normally.
    std::string out;
};

/// Runs `cmd` with /bin/sh and captures its standard output (add "2>&1" for stderr too).
inline command_result run_shell(const std::string& cmd) {
    command_result r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace purser::test
