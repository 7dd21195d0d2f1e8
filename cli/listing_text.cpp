#include "listing_text.hpp"

#include <iostream>

#include "purser/store/text.hpp"

namespace purser::cli {

std::string csv_field(const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

void print_csv_line(const std::vector<std::pair<std::string, std::string>>& fields, bool names) {
    bool first = true;
    for (const auto& [name, value] : fields) {
        std::cout << (first ? "" : ",") << csv_field(names ? name : store::printable(value, true));
        first = false;
    }
    std::cout << "\r\n";
}

std::string shorten(const std::string& s, std::size_t n) {
    return s.size() <= n ? s : s.substr(0, n - 1) + "~";
}

}  // namespace purser::cli
