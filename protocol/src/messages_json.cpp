#include "messages_json.hpp"

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"

namespace purser::protocol::detail {
namespace {

// Follows JSON's string lexing (a quote opens and closes, a backslash escapes one character), so
// for any prefix nlohmann accepts this depth is exactly the depth nlohmann would reach.
bool nested_too_deep(std::string_view text) {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '{':
            case '[':
                if (++depth > max_json_depth) return true;
                break;
            case '}':
            case ']':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    return false;
}

std::string type_name(const ojson& v) {
    return v.type_name();  // "string", "number", "object", ...
}

}  // namespace

result<ojson> parse_bounded(std::string_view text, std::size_t limit, std::string_view what) {
    if (text.size() > limit) {
        return fail(errc::too_large, std::string(what) + ": " + std::to_string(text.size()) +
                                         " bytes exceeds the limit of " + std::to_string(limit));
    }
    if (nested_too_deep(text)) {
        return fail(errc::invalid_json, std::string(what) + ": JSON nested deeper than " +
                                            std::to_string(max_json_depth) + " levels");
    }
    ojson parsed = ojson::parse(text.begin(), text.end(), nullptr, false);
    if (parsed.is_discarded()) {
        return fail(errc::invalid_json, std::string(what) + ": not valid JSON");
    }
    return parsed;
}

result<ojson> decode_header_json(std::string_view value, std::string_view what) {
    if (value.size() > max_header_bytes) {
        return fail(errc::too_large, std::string(what) + ": " + std::to_string(value.size()) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(max_header_bytes));
    }
    auto decoded = base64_decode_header(value, max_header_bytes);
    if (!decoded) {
        return fail(decoded.error().code, std::string(what) + ": " + decoded.error().detail);
    }
    return parse_bounded(*decoded, max_header_bytes, what);
}

std::string field_path(std::string_view prefix, std::string_view key) {
    if (prefix.empty()) return std::string(key);
    std::string out(prefix);
    out += '.';
    out += key;
    return out;
}

const ojson* member(const ojson& obj, std::string_view key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(std::string(key));
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

result<std::string> required_string(const ojson& obj, std::string_view prefix,
                                    std::string_view key) {
    const ojson* v = member(obj, key);
    if (v == nullptr) return fail(errc::missing_field, field_path(prefix, key) + ": required");
    if (!v->is_string()) {
        return fail(errc::wrong_type,
                    field_path(prefix, key) + ": expected a string, got " + type_name(*v));
    }
    return v->get<std::string>();
}

result<std::optional<std::string>> optional_string(const ojson& obj, std::string_view prefix,
                                                   std::string_view key) {
    const ojson* v = member(obj, key);
    if (v == nullptr) return std::optional<std::string>{};
    if (!v->is_string()) {
        return fail(errc::wrong_type,
                    field_path(prefix, key) + ": expected a string, got " + type_name(*v));
    }
    return std::optional<std::string>{v->get<std::string>()};
}

result<bool> required_bool(const ojson& obj, std::string_view prefix, std::string_view key) {
    const ojson* v = member(obj, key);
    if (v == nullptr) return fail(errc::missing_field, field_path(prefix, key) + ": required");
    if (!v->is_boolean()) {
        return fail(errc::wrong_type,
                    field_path(prefix, key) + ": expected a boolean, got " + type_name(*v));
    }
    return v->get<bool>();
}

result<uint256> decimal_string(const ojson& value, std::string_view path) {
    if (!value.is_string()) {
        return fail(errc::wrong_type, std::string(path) + ": expected a decimal string, got " +
                                          type_name(value));
    }
    const auto& text = value.get_ref<const std::string&>();
    auto parsed = uint256::from_decimal(text);
    if (!parsed) {
        if (parsed.error().code == make_error_code(errc::overflow)) {
            return fail(errc::overflow, std::string(path) + ": exceeds 2^256-1");
        }
        return fail(errc::invalid_decimal,
                    std::string(path) + ": expected a decimal string of digits only, got \"" +
                        text.substr(0, 80) + "\"");
    }
    return *parsed;
}

result<uint256> required_amount(const ojson& obj, std::string_view prefix, std::string_view key) {
    const ojson* v = member(obj, key);
    if (v == nullptr) return fail(errc::missing_field, field_path(prefix, key) + ": required");
    return decimal_string(*v, field_path(prefix, key));
}

result<std::optional<uint256>> optional_amount(const ojson& obj, std::string_view prefix,
                                               std::string_view key) {
    const ojson* v = member(obj, key);
    if (v == nullptr) return std::optional<uint256>{};
    PURSER_TRY(amount, decimal_string(*v, field_path(prefix, key)));
    return std::optional<uint256>{amount};
}

result<std::uint64_t> positive_integer(const ojson& obj, std::string_view prefix,
                                       std::string_view key) {
    const ojson* v = member(obj, key);
    const std::string path = field_path(prefix, key);
    if (v == nullptr) return fail(errc::missing_field, path + ": required");
    if (!v->is_number_integer()) {
        return fail(errc::wrong_type, path + ": expected a positive integer, got " + type_name(*v));
    }
    // nlohmann stores non-negative integers as unsigned and negative ones as signed.
    if (!v->is_number_unsigned() || v->get<std::uint64_t>() == 0) {
        return fail(errc::invalid_value, path + ": must be a positive integer");
    }
    return v->get<std::uint64_t>();
}

tl::unexpected<error> not_an_object(const ojson& value, std::string_view what) {
    return fail(errc::wrong_type,
                std::string(what) + ": expected a JSON object, got " + type_name(value));
}

result<ojson> optional_object(const ojson& obj, std::string_view prefix, std::string_view key) {
    const ojson* v = member(obj, key);
    if (v == nullptr) return ojson(nullptr);
    if (!v->is_object()) {
        return fail(errc::wrong_type,
                    field_path(prefix, key) + ": expected an object, got " + type_name(*v));
    }
    return *v;
}

result<ojson> required_object(const ojson& obj, std::string_view prefix, std::string_view key) {
    const ojson* v = member(obj, key);
    if (v == nullptr) return fail(errc::missing_field, field_path(prefix, key) + ": required");
    if (!v->is_object()) {
        return fail(errc::wrong_type,
                    field_path(prefix, key) + ": expected an object, got " + type_name(*v));
    }
    return *v;
}

result<int> x402_version(const ojson& root, std::string_view prefix) {
    const ojson* v = member(root, "x402Version");
    const std::string path = field_path(prefix, "x402Version");
    if (v == nullptr) return fail(errc::missing_field, path + ": required");
    if (!v->is_number_integer()) {
        return fail(errc::wrong_type, path + ": expected an integer, got " + type_name(*v));
    }
    if (v->is_number_unsigned()) {
        const auto n = v->get<std::uint64_t>();
        if (n == 1 || n == 2) return static_cast<int>(n);
    }
    return fail(errc::unsupported_version, path + ": " + v->dump() + " (supported: 1, 2)");
}

std::string compact(const ojson& value) {
    // `replace` never throws; parsed input is valid UTF-8 already, so it changes nothing there.
    return value.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace purser::protocol::detail

namespace purser::protocol {

result<ojson> parse_untrusted_json(std::string_view text, std::size_t limit, std::string_view what) {
    return detail::parse_bounded(text, limit, what);
}

}  // namespace purser::protocol
