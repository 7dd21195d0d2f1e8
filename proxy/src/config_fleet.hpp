// The `fleet` section of the proxy's configuration, kept apart from the other keys: a JSON
// object in the file (`{"fleet": {"database": ..., "password_file": ..., "proxy_id": ...}}`),
// and one environment variable per member, which win over the file.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "purser/protocol/result.hpp"
#include "purser/proxy/config.hpp"

namespace purser::proxy::detail {

/// Sets `c.fleet` from the file's (or PURSER_FLEET's) object. Errors: invalid_option naming the
/// member (unknown, not a string, a proxy id that is not 1..128 of [A-Za-z0-9._:-]).
[[nodiscard]] result<void> apply_fleet_section(config& c, const nlohmann::json& v,
                                               const std::string& where);
/// PURSER_FLEET_DB, PURSER_FLEET_PASSWORD_FILE and PURSER_FLEET_PROXY_ID over the file's
/// values; marks `origin["fleet"]` when one is set. Errors: as apply_fleet_section.
[[nodiscard]] result<void> apply_fleet_environment(
    config& c, const std::function<std::optional<std::string>(const std::string&)>& env);
/// Once every source is applied: a fleet without a proxy id takes the host name.
/// Errors: invalid_option when there is none to take.
[[nodiscard]] result<void> finish_fleet(fleet_settings& f);
/// The section as `purser config show` prints it: null when no fleet; the database's user
/// information (a password may hide there) redacted.
[[nodiscard]] nlohmann::json fleet_shown(const fleet_settings& f);

}  // namespace purser::proxy::detail
