// What this machine charges for the kernel operations a paid request is made of: an empty
// syscall, a 4 KiB pwrite into a file's page cache (LMDB writes each dirty page so), and one
// thread waking another (the payment pool and group commit hand work over so). Not a peer
// comparison: the figures let a reader tell how much of the proxy's CPU per request is the
// machine's price for such operations (a virtual machine's can be ten times bare metal's) before
// comparing results from different machines.
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "in_process.hpp"

namespace {

using purser::bench::process_cpu_us;

double empty_syscall_us(int n) {
    const double before = process_cpu_us();
    for (int i = 0; i < n; ++i) (void)::syscall(SYS_getppid);  // never cached by libc
    return (process_cpu_us() - before) / n;
}

/// 4 KiB pwrites at scattered offsets of a 64 MiB file already in the page cache (no flush).
double page_write_us(const std::filesystem::path& file, int n) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    std::vector<char> page(4096, 7);
    constexpr long pages = 16384;
    bool ok = true;
    for (long i = 0; i < pages && ok; ++i) ok = ::pwrite(fd, page.data(), page.size(), i * 4096) == 4096;
    const double before = process_cpu_us();
    for (int i = 0; i < n && ok; ++i) {
        const long at = (static_cast<long>(i) * 7919) % pages;  // a prime stride: no two in a row
        ok = ::pwrite(fd, page.data(), page.size(), at * 4096) == 4096;
    }
    const double used = process_cpu_us() - before;
    ::close(fd);
    std::filesystem::remove(file);
    return ok ? used / n : -1;
}

/// Two threads passing a turn back and forth through a mutex and a condition variable: the CPU
/// of one hand-off (waking the sleeping thread and switching it in). `one_core` pins both to
/// the first core this process may use.
double hand_off_us(int n, bool one_core) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    if (one_core) {
        std::size_t first = 0;
        while (first < std::size_t{CPU_SETSIZE} && !CPU_ISSET(first, &allowed)) ++first;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        if (::sched_setaffinity(0, sizeof one, &one) != 0) return -1;
    }
    std::mutex m;
    std::condition_variable cv;
    int turn = 0;
    const double before = process_cpu_us();
    std::thread other([&] {  // inherits the affinity set above
        for (int i = 0; i < n; ++i) {
            std::unique_lock lock(m);
            cv.wait(lock, [&] { return turn == 1; });
            turn = 0;
            cv.notify_one();
        }
    });
    for (int i = 0; i < n; ++i) {
        std::unique_lock lock(m);
        turn = 1;
        cv.notify_one();
        cv.wait(lock, [&] { return turn == 0; });
    }
    other.join();
    const double used = process_cpu_us() - before;
    (void)::sched_setaffinity(0, sizeof allowed, &allowed);
    return used / (2.0 * n);
}

}  // namespace

int main(int argc, char** argv) {
    const std::filesystem::path dir = purser::bench::work_dir(argc, argv);
    const auto file = dir / ("purser-machine-costs-" + std::to_string(::getpid()));
    std::printf("CPU per operation on this machine (%u cores), microseconds\n",
                std::thread::hardware_concurrency());
    std::printf("%-56s %8.2f\n", "empty syscall (getppid)", empty_syscall_us(200'000));
    const double write = page_write_us(file, 200'000);
    if (write < 0) {
        std::fprintf(stderr, "pwrite into %s failed\n", file.c_str());
        return 1;
    }
    std::printf("%-56s %8.2f\n", "4 KiB pwrite into the page cache", write);
    std::printf("%-56s %8.2f\n", "thread hand-off, the two threads free to use every core",
                hand_off_us(50'000, false));
    std::printf("%-56s %8.2f\n", "thread hand-off, both threads on one core", hand_off_us(50'000, true));
    return 0;
}
