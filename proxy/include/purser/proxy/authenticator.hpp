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
/// Who is calling, or why that cannot be told.
struct identity {
    std::optional<std::string> agent;  ///< The agent name when the credentials are accepted.
    /// Non-empty when the credential store could not answer at all (not a wrong token): the
    /// server answers 503 with this one-line reason instead of 407, so an operator looks at the
    /// store ("store unavailable: read-only file system"), and an agent retries later instead of
    /// concluding its token is wrong. Never holds the token.
    std::string unavailable;
};

class authenticator {
public:
    virtual ~authenticator() = default;

    /// The agent name when `token` is the current token of agent `name`; no agent for an unknown
    /// agent or a wrong token (the server answers 407 either way, naming neither); `unavailable`
    /// when the answer could not be looked up. Implementations compare the token in constant
    /// time and never log it.
    virtual identity authenticate(std::string_view name, std::string_view token) = 0;
};

}  // namespace purser::proxy
