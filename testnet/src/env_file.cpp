#include "purser/testnet/env_file.hpp"

#include <fstream>

#include "purser/testnet/errc.hpp"

namespace purser::testnet {
namespace {

// The inverse of the shell quoting world.cpp writes: '...' with '\'' for a quote inside.
std::string unquote(std::string_view v) {
    std::string out;
    bool quoted = false;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\'') {
            quoted = !quoted;
        } else if (!quoted && v[i] == '\\' && i + 1 < v.size()) {
            out.push_back(v[++i]);
        } else {
            out.push_back(v[i]);
        }
    }
    return out;
}

}  // namespace

result<std::map<std::string, std::string>> read_env_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(errc::unavailable, "cannot read " + file.string());
    std::map<std::string, std::string> out;
    std::string line;
    constexpr std::string_view prefix = "export ";
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) != 0) continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        out[line.substr(prefix.size(), eq - prefix.size())] =
            unquote(std::string_view(line).substr(eq + 1));
    }
    return out;
}

}  // namespace purser::testnet
