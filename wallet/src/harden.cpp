#include "purser/wallet/harden.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "purser/wallet/errc.hpp"

namespace purser::wallet {

result<void> harden_process_for_secrets() {
    const rlimit no_core{0, 0};
    if (::setrlimit(RLIMIT_CORE, &no_core) != 0)
        return fail(errc::harden_failed, std::string("setrlimit(RLIMIT_CORE, 0): ") +
                                             std::strerror(errno));
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return fail(errc::harden_failed, std::string("prctl(PR_SET_DUMPABLE, 0): ") +
                                             std::strerror(errno));
    return {};
}

}  // namespace purser::wallet
