#include "options.hpp"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "purser/protocol/errc.hpp"
#include "purser/store/errc.hpp"

namespace purser::cli {

using protocol::errc;

result<options> options::parse(const std::vector<std::string>& argv_words,
                               const std::set<std::string>& valued,
                               const std::set<std::string>& flags) {
    options out;
    for (std::size_t i = 0; i < argv_words.size(); ++i) {
        const std::string& w = argv_words[i];
        if (w.size() < 3 || w.rfind("--", 0) != 0) {
            out.positional_.push_back(w);
            continue;
        }
        std::string name = w.substr(2);
        std::optional<std::string> inline_value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (flags.count(name) != 0) {
            if (inline_value) return fail(errc::invalid_value, "--" + name + " takes no value");
            out.flags_.insert(name);
        } else if (valued.count(name) != 0) {
            if (inline_value) {
                out.values_[name].push_back(*inline_value);
            } else if (i + 1 < argv_words.size()) {
                out.values_[name].push_back(argv_words[++i]);
            } else {
                return fail(errc::missing_field, "--" + name + " needs a value");
            }
        } else {
            return fail(errc::invalid_value, "unknown option --" + name);
        }
    }
    return out;
}

std::optional<std::string> options::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::string options::get_or(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
}

std::vector<std::string> options::all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool options::has(const std::string& name) const {
    return flags_.count(name) != 0 || values_.count(name) != 0;
}

namespace {

std::string prompt_no_echo(const char* prompt) {
    std::cerr << prompt << std::flush;
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::string line;
    std::getline(std::cin, line);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
    return line;
}

}  // namespace

void warn_if_shared(const std::filesystem::path& file, const std::string& what) {
    std::error_code ec;
    const auto perms = std::filesystem::status(file, ec).permissions();
    if (ec) return;
    using std::filesystem::perms;
    if ((perms & (perms::group_all | perms::others_all)) == perms::none) return;
    std::cerr << "purser: warning: " << what << " " << file.string()
              << " can be read by other users; anyone who reads it can spend the wallet "
                 "(chmod 600 it)\n";
}

result<std::string> read_password_file(const std::filesystem::path& file, const std::string& what) {
    warn_if_shared(file, what);
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(errc::invalid_value, "cannot read " + what + " " + file.string());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string pw = ss.str();
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    return pw;
}

result<std::string> read_wallet_password(
    const std::optional<std::filesystem::path>& password_file, bool confirm,
    const std::string& file_source) {
    if (password_file) {
        const std::string what = "wallet_password_file";
        return read_password_file(*password_file,
                                  file_source.empty() ? what : what + " (" + file_source + ")");
    }
    if (const char* p = std::getenv("PURSER_WALLET_PASSWORD"); p != nullptr) return std::string(p);
    if (isatty(STDIN_FILENO) == 0) {
        return fail(errc::missing_field,
                    "no wallet password: set PURSER_WALLET_PASSWORD_FILE or PURSER_WALLET_PASSWORD");
    }
    std::string pw = prompt_no_echo("Wallet password: ");
    if (confirm && prompt_no_echo("Repeat password: ") != pw) {
        return fail(errc::invalid_value, "the passwords do not match");
    }
    return pw;
}

int report(const error& e, int code) {
    // In the user's terms: no library name. An invalid argument's detail says it all ("usage:
    // ...", "--per-request abc: expected a dollar amount ..."); other errors keep their kind.
    std::cerr << "purser: ";
    const bool self_explaining = !e.detail.empty() && (e.code == std::errc::invalid_argument ||
                                                       e.code == store::errc::invalid_argument ||
                                                       e.code == protocol::errc::invalid_value ||
                                                       e.code == protocol::errc::missing_field);
    if (self_explaining) {
        std::cerr << e.detail;
    } else {
        std::cerr << e.code.message();
        if (!e.detail.empty()) std::cerr << ": " << e.detail;
    }
    std::cerr << "\n";
    return code;
}

int report(const std::string& message, int code) {
    std::cerr << "purser: " << message << "\n";
    return code;
}

}  // namespace purser::cli
