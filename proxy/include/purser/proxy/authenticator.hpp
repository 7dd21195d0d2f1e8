// Who is calling: maps proxy credentials to an agent name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace purser::proxy {

/// Checks the name and token from `Proxy-Authorization: Basic base64(name:token)`.
/// Called on an I/O thread once per plain request and once per CONNECT (requests inside an
/// intercepted tunnel inherit the tunnel's agent), so it must be fast and thread-safe; a store
/// lookup through an LMDB read transaction is fine, a synced write is not.
class authenticator {
public:
    virtual ~authenticator() = default;

    /// Returns the agent name when `token` is the current token of agent `name`, nullopt otherwise
    /// (unknown agent or wrong token; the server answers 407 either way, naming neither).
    /// Implementations compare the token in constant time and never log it.
    virtual std::optional<std::string> authenticate(std::string_view name,
                                                    std::string_view token) = 0;
};

}  // namespace purser::proxy
