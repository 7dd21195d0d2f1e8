// Process hardening for the time a wallet key is in memory.
#pragma once

#include "purser/protocol/result.hpp"

namespace purser::wallet {

/// Keeps this process's memory, where an unlocked key lives, out of core dumps and away from
/// other users' debuggers: sets RLIMIT_CORE to 0 (soft and hard, so a later crash writes no
/// core, and the limit cannot be raised back) and PR_SET_DUMPABLE to 0 (no core even through a
/// core_pattern pipe, and no ptrace or /proc/PID/mem access by non-root processes of the same
/// user). Call it before decrypting a keystore; it cannot be undone for the process, by design.
/// Idempotent. Errors: harden_failed, naming the call that failed (setrlimit or prctl).
[[nodiscard]] result<void> harden_process_for_secrets();

}  // namespace purser::wallet
