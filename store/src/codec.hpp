// Byte layouts of keys and values. Keys sort as bytes: fixed-width big-endian integers and
// length-prefixed strings. Every value starts with a format version byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "purser/protocol/uint256.hpp"

namespace purser::store::detail {

/// Appends fields to a byte string.
class writer {
public:
    writer& u8(std::uint8_t v) {
        out_.push_back(static_cast<char>(v));
        return *this;
    }
    writer& u16(std::uint16_t v) { return be(v, 2); }
    writer& u32(std::uint32_t v) { return be(v, 4); }
    writer& u64(std::uint64_t v) { return be(v, 8); }
    /// A string prefixed by its length as u32 (values) .
    writer& str(std::string_view s);
    /// A string prefixed by its length as one byte (keys; precondition: size <= 255).
    writer& key_str(std::string_view s);
    writer& raw(std::string_view s) {
        out_.append(s);
        return *this;
    }
    writer& u256(const protocol::uint256& v);
    writer& opt_u64(const std::optional<std::uint64_t>& v);
    writer& strings(const std::vector<std::string>& v);
    [[nodiscard]] std::string take() { return std::move(out_); }
    [[nodiscard]] const std::string& view() const { return out_; }

private:
    writer& be(std::uint64_t v, int width);
    std::string out_;
};

/// Reads fields back; any read past the end sets failed() and returns zeros.
class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}
    std::uint8_t u8() { return static_cast<std::uint8_t>(be(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(be(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(be(4)); }
    std::uint64_t u64() { return be(8); }
    std::string str();
    /// Steps over what str() would read.
    void skip_str() { (void)take(u32()); }
    std::string key_str();
    protocol::uint256 u256();
    std::optional<std::uint64_t> opt_u64();
    std::vector<std::string> strings();
    /// True when every read stayed in bounds and all input was consumed.
    [[nodiscard]] bool ok_and_done() const { return !failed_ && in_.empty(); }
    [[nodiscard]] bool failed() const { return failed_; }
    [[nodiscard]] std::string_view rest() const { return in_; }

private:
    std::uint64_t be(int width);
    std::string_view take(std::size_t n);
    std::string_view in_;
    bool failed_ = false;
};

[[nodiscard]] inline std::string be64(std::uint64_t v) { return writer().u64(v).take(); }
[[nodiscard]] inline std::uint64_t read_be64(std::string_view s) {
    reader r(s);
    return r.u64();
}

}  // namespace purser::store::detail
