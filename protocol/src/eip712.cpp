#include "purser/protocol/eip712.hpp"

#include <array>
#include <charconv>
#include <set>

#include "purser/protocol/address.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/keccak.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::protocol::eip712 {
namespace {

using json = nlohmann::json;

// "Foo[]" or "Foo[3]" -> "Foo"; anything else unchanged.
std::string_view base_type(std::string_view type) {
    std::size_t bracket = type.find('[');
    return bracket == std::string_view::npos ? type : type.substr(0, bracket);
}

bool is_array(std::string_view type) { return !type.empty() && type.back() == ']'; }

// Parses "uint<N>"/"int<N>"/"bytes<N>" sizes; 0 when `type` does not have that prefix.
unsigned sized(std::string_view type, std::string_view prefix) {
    if (type.substr(0, prefix.size()) != prefix || type.size() == prefix.size()) return 0;
    unsigned n = 0;
    auto tail = type.substr(prefix.size());
    auto [ptr, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), n);
    if (ec != std::errc{} || ptr != tail.data() + tail.size()) return 0;
    return n;
}

result<void> collect_deps(const type_map& types, std::string_view type, std::set<std::string>& out) {
    std::string name(base_type(type));
    if (out.count(name) != 0) return {};
    auto it = types.find(name);
    if (it == types.end()) return {};  // atomic or dynamic type
    if (it->second.empty()) return fail(errc::invalid_typed_data, "struct " + name + " has no fields");
    out.insert(name);
    for (const auto& f : it->second) {
        auto r = collect_deps(types, f.type, out);
        if (!r) return r;
    }
    return {};
}

result<uint256> integer_value(const json& v, const std::string& where) {
    if (v.is_number_unsigned()) return uint256(v.get<std::uint64_t>());
    if (v.is_number_integer()) {
        std::int64_t i = v.get<std::int64_t>();
        if (i < 0) return fail(errc::invalid_value, where + ": negative number for an unsigned type");
        return uint256(static_cast<std::uint64_t>(i));
    }
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            auto raw = from_hex(s);
            if (!raw) return fail(raw.error().code, where + ": " + raw.error().detail);
            auto r = uint256::from_be_bytes(*raw);
            if (!r) return fail(r.error().code, where + ": " + r.error().detail);
            return r;
        }
        auto r = uint256::from_decimal(s);
        if (!r) return fail(r.error().code, where + ": " + r.error().detail);
        return r;
    }
    return fail(errc::wrong_type, where + ": expected an integer or a decimal string");
}

result<bytes32> encode_signed(const json& v, unsigned bits, const std::string& where) {
    bool negative = false;
    json magnitude = v;
    if (v.is_number_integer() && !v.is_number_unsigned()) {
        std::int64_t i = v.get<std::int64_t>();
        if (i < 0) {
            negative = true;
            magnitude = static_cast<std::uint64_t>(-(i + 1)) + 1;
        }
    } else if (v.is_string() && !v.get_ref<const std::string&>().empty() &&
               v.get_ref<const std::string&>()[0] == '-') {
        negative = true;
        magnitude = v.get_ref<const std::string&>().substr(1);
    }
    PURSER_TRY(mag, integer_value(magnitude, where));
    // |value| < 2^(bits-1) for positives, <= 2^(bits-1) for negatives.
    uint256 limit(1);
    for (unsigned k = 1; k < bits; ++k) limit = *limit.add(limit);
    if (negative ? mag > limit : mag >= limit) {
        return fail(errc::overflow, where + ": out of range for int" + std::to_string(bits));
    }
    if (!negative || mag.is_zero()) return mag.to_be_bytes();
    // Two's complement in 256 bits: 2^256 - mag = (2^256 - 1) - mag + 1.
    uint256 twos = *(*uint256::max().sub(mag)).add(uint256(1));
    return twos.to_be_bytes();
}

result<bytes32> encode_value(const type_map& types, const std::string& type, const json& v,
                             const std::string& where);

result<bytes32> encode_array(const type_map& types, const std::string& type, const json& v,
                             const std::string& where) {
    if (!v.is_array()) return fail(errc::wrong_type, where + ": expected an array");
    std::size_t open = type.rfind('[');
    std::string element = type.substr(0, open);
    std::string len_text = type.substr(open + 1, type.size() - open - 2);
    if (!len_text.empty()) {
        std::size_t want = 0;
        auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), want);
        if (ec != std::errc{} || ptr != len_text.data() + len_text.size()) {
            return fail(errc::invalid_typed_data, where + ": bad array length in " + type);
        }
        if (v.size() != want) {
            return fail(errc::invalid_value, where + ": expected " + len_text + " elements");
        }
    }
    bytes buf;
    buf.reserve(v.size() * 32);
    for (std::size_t i = 0; i < v.size(); ++i) {
        PURSER_TRY(enc, encode_value(types, element, v[i], where + "[" + std::to_string(i) + "]"));
        buf.insert(buf.end(), enc.begin(), enc.end());
    }
    return keccak256(buf);
}

result<bytes32> encode_value(const type_map& types, const std::string& type, const json& v,
                             const std::string& where) {
    if (is_array(type)) return encode_array(types, type, v, where);
    if (types.count(type) != 0) return hash_struct(types, type, v);
    if (type == "string") {
        if (!v.is_string()) return fail(errc::wrong_type, where + ": expected a string");
        return keccak256(std::string_view(v.get_ref<const std::string&>()));
    }
    if (type == "bytes") {
        if (!v.is_string()) return fail(errc::wrong_type, where + ": expected 0x-hex bytes");
        auto raw = from_hex(v.get_ref<const std::string&>());
        if (!raw) return fail(raw.error().code, where + ": " + raw.error().detail);
        return keccak256(*raw);
    }
    if (type == "address") {
        if (!v.is_string()) return fail(errc::wrong_type, where + ": expected an address string");
        auto a = address::parse(v.get_ref<const std::string&>());
        if (!a) return fail(a.error().code, where + ": " + a.error().detail);
        bytes32 out{};
        std::copy(a->raw().begin(), a->raw().end(), out.begin() + 12);
        return out;
    }
    if (type == "bool") {
        if (!v.is_boolean()) return fail(errc::wrong_type, where + ": expected a boolean");
        bytes32 out{};
        out[31] = v.get<bool>() ? 1 : 0;
        return out;
    }
    if (unsigned n = sized(type, "uint"); n != 0) {
        if (n > 256 || n % 8 != 0) return fail(errc::invalid_typed_data, "bad type " + type);
        PURSER_TRY(value, integer_value(v, where));
        if (!value.fits_bits(n)) return fail(errc::overflow, where + ": out of range for " + type);
        return value.to_be_bytes();
    }
    if (unsigned n = sized(type, "int"); n != 0) {
        if (n > 256 || n % 8 != 0) return fail(errc::invalid_typed_data, "bad type " + type);
        return encode_signed(v, n, where);
    }
    if (unsigned n = sized(type, "bytes"); n != 0) {
        if (n > 32) return fail(errc::invalid_typed_data, "bad type " + type);
        if (!v.is_string()) return fail(errc::wrong_type, where + ": expected 0x-hex bytes");
        auto raw = from_hex(v.get_ref<const std::string&>());
        if (!raw) return fail(raw.error().code, where + ": " + raw.error().detail);
        if (raw->size() != n) {
            return fail(errc::invalid_value, where + ": expected " + std::to_string(n) + " bytes");
        }
        bytes32 out{};
        std::copy(raw->begin(), raw->end(), out.begin());
        return out;
    }
    return fail(errc::invalid_typed_data, where + ": unknown type " + type);
}

}  // namespace

result<std::string> encode_type(const type_map& types, std::string_view primary) {
    if (types.count(std::string(primary)) == 0) {
        return fail(errc::invalid_typed_data, "unknown primary type " + std::string(primary));
    }
    std::set<std::string> deps;
    auto r = collect_deps(types, primary, deps);
    if (!r) return tl::unexpected(r.error());
    deps.erase(std::string(primary));

    auto render = [&](const std::string& name) {
        std::string s = name + "(";
        const auto& fields = types.at(name);
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i != 0) s += ",";
            s += fields[i].type + " " + fields[i].name;
        }
        return s + ")";
    };
    std::string out = render(std::string(primary));
    for (const auto& d : deps) out += render(d);
    return out;
}

result<bytes32> type_hash(const type_map& types, std::string_view primary) {
    PURSER_TRY(text, encode_type(types, primary));
    return keccak256(std::string_view(text));
}

result<bytes32> hash_struct(const type_map& types, std::string_view primary, const json& value) {
    PURSER_TRY(th, type_hash(types, primary));
    if (!value.is_object()) {
        return fail(errc::wrong_type, std::string(primary) + ": expected an object");
    }
    bytes buf(th.begin(), th.end());
    for (const auto& f : types.at(std::string(primary))) {
        auto it = value.find(f.name);
        std::string where = std::string(primary) + "." + f.name;
        if (it == value.end() || it->is_null()) return fail(errc::missing_field, where);
        PURSER_TRY(enc, encode_value(types, f.type, *it, where));
        buf.insert(buf.end(), enc.begin(), enc.end());
    }
    return keccak256(buf);
}

result<bytes32> domain_separator(const json& domain) {
    static const std::array<field, 5> canonical = {{{"name", "string"},
                                                     {"version", "string"},
                                                     {"chainId", "uint256"},
                                                     {"verifyingContract", "address"},
                                                     {"salt", "bytes32"}}};
    if (!domain.is_object()) return fail(errc::wrong_type, "domain: expected an object");
    for (const auto& [key, _] : domain.items()) {
        bool known = false;
        for (const auto& f : canonical) known |= (f.name == key);
        if (!known) return fail(errc::invalid_typed_data, "domain: unknown field " + key);
    }
    type_map types;
    auto& fields = types["EIP712Domain"];
    for (const auto& f : canonical) {
        if (domain.contains(f.name)) fields.push_back(f);
    }
    if (fields.empty()) return fail(errc::invalid_typed_data, "domain: no fields");
    return hash_struct(types, "EIP712Domain", domain);
}

bytes32 digest(const bytes32& separator, const bytes32& struct_hash) {
    std::array<std::uint8_t, 66> buf{};
    buf[0] = 0x19;
    buf[1] = 0x01;
    std::copy(separator.begin(), separator.end(), buf.begin() + 2);
    std::copy(struct_hash.begin(), struct_hash.end(), buf.begin() + 34);
    return keccak256(buf);
}

result<bytes32> hash_typed_data(const typed_data& data) {
    if (data.types.count("EIP712Domain") != 0) {
        return fail(errc::invalid_typed_data, "types must not define EIP712Domain");
    }
    PURSER_TRY(sep, domain_separator(data.domain));
    PURSER_TRY(sh, hash_struct(data.types, data.primary_type, data.message));
    return digest(sep, sh);
}

}  // namespace purser::protocol::eip712
