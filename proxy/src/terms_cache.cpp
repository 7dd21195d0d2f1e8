#include "purser/proxy/detail/terms_cache.hpp"

namespace purser::proxy::detail {

result<terms_cache::terms> terms_cache::read(std::optional<std::string_view> header, std::string_view body) {
    // The header wins when present and non-empty (read_payment_required's rule), so it alone is
    // what was read; the first byte keeps a header and a body of the same text apart.
    const bool from_header = header && !header->empty();
    const std::string_view text = from_header ? *header : body;
    std::string key;
    if (text.size() <= max_key_bytes) {
        key.reserve(text.size() + 1);
        key.push_back(from_header ? 'h' : 'b');
        key.append(text);
        if (auto known = parsed_.find(key)) return *known;
    }
    auto parsed = protocol::read_payment_required(header, body);
    if (!parsed) return tl::unexpected(parsed.error());
    auto shared = std::make_shared<const protocol::payment_required>(std::move(*parsed));
    if (!key.empty()) parsed_.keep(std::move(key), shared);
    return shared;
}

}  // namespace purser::proxy::detail
