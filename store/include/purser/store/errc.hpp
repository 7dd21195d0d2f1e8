// Errors of the store library. A declined payment is not one of these: it is a `decision`.
#pragma once

#include <system_error>

namespace purser::store {

enum class errc {
    lmdb_failed = 1,        ///< An LMDB call failed; the detail names the call and LMDB's message.
    map_full,               ///< The LMDB map is full (MDB_MAP_FULL): nothing was written.
    schema_too_new,         ///< The store was written by a newer Purser; it is left untouched.
    corrupt_record,         ///< A stored value has an unknown format version or is truncated.
    invalid_name,           ///< An agent name outside [A-Za-z0-9._-]{1,64}.
    invalid_argument,       ///< A field of a request is out of range (host too long, decimals...).
    invalid_pattern,        ///< A host pattern that is neither "host" nor "*.suffix".
    overflow,               ///< An amount or counter would not fit its integer type.
    agent_exists,           ///< add_agent with a name already taken.
    agent_not_found,        ///< No agent by that name.
    bad_credentials,        ///< authenticate: the token does not match.
    no_allowance_limit,     ///< fund on an agent whose allowance is unlimited.
    reservation_not_found,  ///< No ledger row with that id, or it is not a reservation.
    invalid_transition,     ///< The reservation's status does not allow that step.
    io_failed,              ///< A file-system call around the environment failed.
    payments_unsettled,     ///< remove_agent while the agent has payments that may still move.
};

[[nodiscard]] const std::error_category& store_category() noexcept;
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace purser::store

template <>
struct std::is_error_code_enum<purser::store::errc> : std::true_type {};
