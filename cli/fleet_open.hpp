// The fleet database as the CLI reaches it: `purser fleet`, `budget`, `ledger --fleet` and
// `spend --fleet` share one way to find it and its password.
#pragma once

#include <memory>

#include "options.hpp"
#include "purser/fleet/pg.hpp"

namespace purser::cli {

/// The fleet database: --db (or PURSER_FLEET_DB), its password from --db-password-file (or
/// PURSER_FLEET_PASSWORD_FILE), never from a flag or the connection string shown in errors.
/// Errors: protocol missing_field (no database given), the password file's, connection::open's.
[[nodiscard]] result<std::unique_ptr<fleet::connection>> open_fleet(const options& o);

}  // namespace purser::cli
