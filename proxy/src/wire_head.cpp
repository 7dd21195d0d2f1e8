#include "purser/proxy/detail/wire_head.hpp"

#include <array>
#include <charconv>

#include "purser/proxy/detail/http_util.hpp"

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

void strip_hop_by_hop(http::fields& f) {
    // One pass over the fields, allocating nothing. The Connection headers (a message may carry
    // several; Beast keeps same-name fields next to each other) name the rest, so they stay until
    // the end. Only an iterator to the first is kept: the end of their range may be a field this
    // pass erases.
    const auto connection = f.find(http::field::connection);
    const auto hop = [&](std::string_view name) {
        if (connection == f.end()) return is_hop_by_hop(name, {});
        for (auto c = connection; c != f.end() && c->name() == http::field::connection; ++c)
            if (is_hop_by_hop(name, c->value())) return true;
        return false;
    };
    for (auto it = f.begin(); it != f.end();) {
        if (it->name() != http::field::connection && hop(it->name_string())) it = f.erase(it);
        else ++it;
    }
    f.erase(http::field::connection);
}

std::string_view append_chunk_framing(std::string& out, std::size_t size, bool last) {
    if (size == 0) {
        if (last) out += "0\r\n\r\n";
        return {};
    }
    std::array<char, 2 * sizeof(std::size_t)> hex{};
    const auto end = std::to_chars(hex.data(), hex.data() + hex.size(), size, 16).ptr;
    out.append(hex.data(), end);
    out += "\r\n";
    return last ? "\r\n0\r\n\r\n" : "\r\n";
}

}  // namespace purser::proxy::detail
