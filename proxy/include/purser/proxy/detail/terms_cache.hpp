// A merchant's 402 terms, parsed once per distinct text rather than once per request.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "purser/protocol/bounded_memo.hpp"
#include "purser/protocol/messages.hpp"

namespace purser::proxy::detail {

/// Memo of protocol::read_payment_required, keyed by the exact text it reads (the
/// PAYMENT-REQUIRED header, or the v1 body when there is none). A merchant answers the same route
/// with the same bytes, and decoding them (base64, JSON, address checks) cost about 6 % of the
/// proxy's CPU per paid request. Only a successful parse is kept, so a malformed 402 is refused
/// with its own error every time; equal text always meant equal terms, so nothing a merchant
/// sends can make a cached entry answer for other bytes. Thread-safe.
class terms_cache {
public:
    using terms = std::shared_ptr<const protocol::payment_required>;

    [[nodiscard]] result<terms> read(std::optional<std::string_view> header, std::string_view body);

    /// Entries kept; when full the cache is emptied (requests holding terms keep theirs), so a
    /// merchant that varies its text on every 402 cannot grow it.
    static constexpr std::size_t max_entries = 64;
    /// Longer texts are parsed and not kept: a few of them would hold megabytes.
    static constexpr std::size_t max_key_bytes = 16 * 1024;

private:
    bounded_memo<terms> parsed_{max_entries};
};

}  // namespace purser::proxy::detail
