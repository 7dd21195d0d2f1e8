// Command-line parsing shared by every purser subcommand.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "purser/protocol/result.hpp"

namespace purser::cli {

/// Parsed "--name value", "--name=value", bare "--flag" and positional words. Options must be
/// declared: an unknown option is an error naming it, so typos never pass silently.
class options {
public:
    /// `valued` take a value; `flags` take none. Repeating a valued option keeps every value.
    static result<options> parse(const std::vector<std::string>& argv_words,
                                 const std::set<std::string>& valued,
                                 const std::set<std::string>& flags = {});

    [[nodiscard]] std::optional<std::string> get(const std::string& name) const;
    [[nodiscard]] std::string get_or(const std::string& name, const std::string& fallback) const;
    [[nodiscard]] std::vector<std::string> all(const std::string& name) const;
    [[nodiscard]] bool has(const std::string& name) const;
    [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::vector<std::string>> values_;
    std::set<std::string> flags_;
    std::vector<std::string> positional_;
};

/// The wallet password, from `password_file` (the configuration's wallet_password_file, which
/// PURSER_WALLET_PASSWORD_FILE sets), PURSER_WALLET_PASSWORD, or a no-echo prompt when stdin is
/// a terminal (asked twice when `confirm`). Never from a flag.
/// Errors: when none of these is available, or the file cannot be read.
/// `file_source` says where `password_file` came from, for the messages ("env:PURSER_...").
[[nodiscard]] result<std::string> read_wallet_password(
    const std::optional<std::filesystem::path>& password_file, bool confirm = false,
    const std::string& file_source = "");
/// The one reader of password files (wallet_password_file, PURSER_IMPORT_PASSWORD_FILE): warns
/// when others can read `file`, reads it, and drops a trailing newline (`echo pw > file` adds one; it is not part of the password). `what` names the
/// setting in the error and the warning.
[[nodiscard]] result<std::string> read_password_file(const std::filesystem::path& file,
                                                     const std::string& what);

/// Warns on stderr when `file` (a password file; `what` names where it came from) can be read by
/// its group or by others: anyone who can read it can spend the wallet.
void warn_if_shared(const std::filesystem::path& file, const std::string& what);

/// Prints "purser: <message>" to stderr and returns the exit code 1 (or `code`).
int report(const error& e, int code = 1);
int report(const std::string& message, int code = 1);

}  // namespace purser::cli
