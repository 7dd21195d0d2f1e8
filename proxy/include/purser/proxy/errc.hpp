// Errors of the proxy library: configuration, the interception CA and the listener.
#pragma once

#include <system_error>

namespace purser::proxy {

enum class errc {
    unknown_option = 1,  ///< A config file key (or flag) that Purser does not know.
    invalid_option,      ///< A known option with a value of the wrong type or out of range.
    config_file,         ///< The config file cannot be read or is not a JSON object.
    ca_failure,          ///< The CA files cannot be created, read or used (names the step).
    listen_failed,       ///< The listen address cannot be parsed, bound or listened on.
    invalid_url,         ///< A request target that is not a usable absolute URL or authority.
};

[[nodiscard]] const std::error_category& proxy_category() noexcept;
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace purser::proxy

template <>
struct std::is_error_code_enum<purser::proxy::errc> : std::true_type {};
