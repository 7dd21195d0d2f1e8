// What the benchmarks that measure work inside their own process share: the CPU they have used,
// and where they may write files.
#pragma once

#include <sys/resource.h>

#include <filesystem>
#include <system_error>

namespace purser::bench {

/// User and system CPU of this whole process so far, in microseconds: the kernel's share (page
/// writes, flushes, wake-ups) is often most of what is measured.
inline double process_cpu_us() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto us = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
    };
    return us(u.ru_utime) + us(u.ru_stime);
}

/// The directory named by the first argument, else the one holding this executable (the build
/// tree: a real file system, where a flush costs what it costs), else the current one.
inline std::filesystem::path work_dir(int argc, char** argv) {
    if (argc > 1) return argv[1];
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::canonical("/proc/self/exe", ec);
    return ec ? std::filesystem::current_path() : exe.parent_path();
}

}  // namespace purser::bench
