#include "purser/wallet/harden.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

using purser::wallet::harden_process_for_secrets;

TEST_CASE("harden_process_for_secrets turns off core dumps and dumpability", "[wallet]") {
    // In a child: the test binary itself stays dumpable, so a crash in another test still
    // leaves a core to debug.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Exit codes name the check that failed; 0 is success.
        if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1) ::_exit(10);  // precondition
        if (!harden_process_for_secrets()) ::_exit(11);
        rlimit core{};
        if (::getrlimit(RLIMIT_CORE, &core) != 0) ::_exit(12);
        if (core.rlim_cur != 0 || core.rlim_max != 0) ::_exit(13);
        if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) ::_exit(14);
        if (!harden_process_for_secrets()) ::_exit(15);  // idempotent
        // The hard limit is 0 now: the core limit cannot be raised back.
        const rlimit again{RLIM_INFINITY, RLIM_INFINITY};
        if (::geteuid() != 0 && ::setrlimit(RLIMIT_CORE, &again) == 0) ::_exit(16);
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
