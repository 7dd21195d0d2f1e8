// The admin API's bearer token: checked in constant time, never kept or shown in the clear.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace purser::admin {

/// Holds only the SHA-256 of the token. Comparing digests with CRYPTO_memcmp takes the same
/// time whatever the presented token is, its length included, so timing tells a caller nothing
/// about how much of a guess was right. No operator<<, no accessor: the token cannot reach a log.
class bearer_token {
public:
    /// `secret` must not be empty (an empty token would admit `Authorization: Bearer `).
    explicit bearer_token(std::string_view secret);

    /// True when `authorization` (the whole Authorization header value) is
    /// "Bearer <the token>" (the scheme name in any case, RFC 7235; one or more spaces).
    [[nodiscard]] bool admits(std::string_view authorization) const;

private:
    std::array<std::uint8_t, 32> digest_{};
};

}  // namespace purser::admin
