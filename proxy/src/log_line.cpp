#include "log_line.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

namespace purser::proxy::detail {

namespace {

template <class Int>
std::string number(Int value) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
    return std::string(buf, end);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    // Bytes past ASCII are rare in the log (URLs arrive percent-encoded) and only they raise the
    // question of invalid UTF-8: nlohmann's own replacement rules handle them, so the result is
    // the same by construction.
    if (std::any_of(text.begin(), text.end(), [](char c) { return (c & 0x80) != 0; })) {
        out += nlohmann::json(std::string(text))
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (const char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    const auto u = static_cast<unsigned char>(c);
                    out += "\\u00";
                    out += hex[u >> 4];
                    out += hex[u & 0xf];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

log_line::field& log_line::slot(std::string_view key) {
    for (auto& f : fields_)
        if (f.key == key) return f;
    return fields_.emplace_back(field{std::string(key), {}});
}

log_line& log_line::add(std::string_view key, std::string_view value) {
    auto& f = slot(key);
    f.json.clear();
    append_json_string(f.json, value);
    return *this;
}

log_line& log_line::add(std::string_view key, std::uint64_t value) {
    slot(key).json = number(value);
    return *this;
}

log_line& log_line::add(std::string_view key, std::int64_t value) {
    slot(key).json = number(value);
    return *this;
}

log_line& log_line::add(std::string_view key, bool value) {
    slot(key).json = value ? "true" : "false";
    return *this;
}

bool log_line::has(std::string_view key) const {
    return std::any_of(fields_.begin(), fields_.end(),
                       [&](const field& f) { return f.key == key; });
}

void log_line::append_to(std::string& out) const {
    // A JSON object in nlohmann is a std::map: its keys come out in byte order.
    std::vector<const field*> order;
    order.reserve(fields_.size());
    for (const auto& f : fields_) order.push_back(&f);
    std::sort(order.begin(), order.end(),
              [](const field* a, const field* b) { return a->key < b->key; });
    out += '{';
    bool first = true;
    for (const auto* f : order) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, f->key);
        out += ':';
        out += f->json;
    }
    out += '}';
}

}  // namespace purser::proxy::detail
