// One access-log line, written as JSON text directly instead of through a JSON document: the
// log is formatted once per request on the hot path. The text is exactly what
// nlohmann::json::dump(-1, ' ', false, replace) gave for the same object (keys in byte order,
// strings escaped the same way), so readers of the log see no difference.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace purser::proxy::detail {

class log_line {
public:
    /// Sets `key` (replacing an earlier value, as json[key] = value does).
    log_line& add(std::string_view key, std::string_view value);
    log_line& add(std::string_view key, const char* value) {
        return add(key, std::string_view(value));
    }
    log_line& add(std::string_view key, std::uint64_t value);
    log_line& add(std::string_view key, std::int64_t value);
    log_line& add(std::string_view key, unsigned value) {
        return add(key, static_cast<std::uint64_t>(value));
    }
    log_line& add(std::string_view key, int value) {
        return add(key, static_cast<std::int64_t>(value));
    }
    log_line& add(std::string_view key, bool value);
    [[nodiscard]] bool has(std::string_view key) const;
    /// Appends the object, without a newline.
    void append_to(std::string& out) const;

private:
    struct field {
        std::string key;
        std::string json;  // the value as JSON text
    };
    field& slot(std::string_view key);
    std::vector<field> fields_;
};

/// Appends `text` as a quoted JSON string, escaped as nlohmann::json::dump(-1, ' ', false,
/// replace) escapes it (invalid UTF-8 becomes U+FFFD).
void append_json_string(std::string& out, std::string_view text);

}  // namespace purser::proxy::detail
