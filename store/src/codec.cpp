#include "codec.hpp"

namespace purser::store::detail {

writer& writer::be(std::uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    return *this;
}

writer& writer::str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
    return *this;
}

writer& writer::key_str(std::string_view s) {
    u8(static_cast<std::uint8_t>(s.size()));
    out_.append(s);
    return *this;
}

writer& writer::u256(const protocol::uint256& v) {
    const auto b = v.to_be_bytes();
    out_.append(reinterpret_cast<const char*>(b.data()), b.size());
    return *this;
}

writer& writer::opt_u64(const std::optional<std::uint64_t>& v) {
    u8(v ? 1 : 0);
    return u64(v.value_or(0));
}

writer& writer::strings(const std::vector<std::string>& v) {
    u32(static_cast<std::uint32_t>(v.size()));
    for (const auto& s : v) str(s);
    return *this;
}

std::string_view reader::take(std::size_t n) {
    if (failed_ || in_.size() < n) {
        failed_ = true;
        return {};
    }
    auto out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
}

std::uint64_t reader::be(int width) {
    const auto b = take(static_cast<std::size_t>(width));
    std::uint64_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<std::uint8_t>(c);
    return v;
}

std::string reader::str() {
    const std::uint32_t n = u32();
    return std::string(take(n));
}

std::string reader::key_str() {
    const std::uint8_t n = u8();
    return std::string(take(n));
}

protocol::uint256 reader::u256() {
    const auto b = take(32);
    if (failed_) return {};
    auto v = protocol::uint256::from_be_bytes(protocol::byte_view(
        reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
    return v ? *v : protocol::uint256{};
}

std::optional<std::uint64_t> reader::opt_u64() {
    const std::uint8_t has = u8();
    const std::uint64_t v = u64();
    if (has > 1) failed_ = true;
    if (has == 0) return std::nullopt;
    return v;
}

std::vector<std::string> reader::strings() {
    const std::uint32_t n = u32();
    std::vector<std::string> out;
    if (n > in_.size()) {  // each string needs at least 4 bytes: a cheap sanity bound
        failed_ = true;
        return out;
    }
    out.reserve(n);
    for (std::uint32_t i = 0; i < n && !failed_; ++i) out.push_back(str());
    return out;
}

}  // namespace purser::store::detail
