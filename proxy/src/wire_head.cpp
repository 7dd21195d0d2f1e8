#include "purser/proxy/detail/wire_head.hpp"

#include <array>
#include <charconv>

namespace purser::proxy::detail {

namespace http = boost::beast::http;

namespace {

void append_fields(std::string& out, const http::fields& fields) {
    for (const auto& field : fields) {
        const auto name = field.name_string();
        const auto value = field.value();
        out.append(name.data(), name.size());
        out += ": ";
        out.append(value.data(), value.size());
        out += "\r\n";
    }
    out += "\r\n";
}

}  // namespace

void append_response_head(std::string& out, const http::response_header<>& head) {
    const unsigned version = head.version();
    const unsigned code = head.result_int();
    const std::array<char, 13> status_line{'H', 'T', 'T', 'P', '/',
                                           static_cast<char>('0' + version / 10 % 10), '.',
                                           static_cast<char>('0' + version % 10), ' ',
                                           static_cast<char>('0' + code / 100 % 10),
                                           static_cast<char>('0' + code / 10 % 10),
                                           static_cast<char>('0' + code % 10), ' '};
    out.append(status_line.data(), status_line.size());
    const auto reason = head.reason();
    if (reason.empty()) {
        const auto standard = http::obsolete_reason(head.result());
        out.append(standard.data(), standard.size());
    } else {
        out.append(reason.data(), reason.size());
    }
    out += "\r\n";
    append_fields(out, head);
}

void append_request_head(std::string& out, const http::request_header<>& head) {
    const auto method = head.method_string();
    const auto target = head.target();
    const unsigned version = head.version();
    out.append(method.data(), method.size());
    out += ' ';
    out.append(target.data(), target.size());
    const std::array<char, 11> version_text{' ', 'H', 'T', 'T', 'P', '/',
                                            static_cast<char>('0' + version / 10 % 10), '.',
                                            static_cast<char>('0' + version % 10), '\r', '\n'};
    out.append(version_text.data(), version_text.size());
    append_fields(out, head);
}

void append_chunk_size(std::string& out, std::size_t size) {
    std::array<char, 2 * sizeof(std::size_t)> hex{};
    const auto end = std::to_chars(hex.data(), hex.data() + hex.size(), size, 16).ptr;
    out.append(hex.data(), end);
    out += "\r\n";
}

}  // namespace purser::proxy::detail
