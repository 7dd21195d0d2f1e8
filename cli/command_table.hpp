// Every purser command and the options it accepts, in one table: the option parser reads its
// valued/flag sets from here and `--help` prints from here, so help cannot drift from what the
// parser takes (tests/cli/help_test.cpp walks the table against the real binary).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

namespace purser::cli {

/// One option: "--name VALUE" when `value` names a placeholder, a bare "--name" flag otherwise.
struct option_spec {
    std::string name;           ///< Without the dashes.
    std::string value;          ///< Placeholder shown in help ("FILE"); empty for a flag.
    std::string help;           ///< One line.
    std::string default_value;  ///< Shown as "(default ...)"; empty when there is none.
    std::string env;            ///< Environment variable that also sets it; empty when none.
};

/// One command ("wallet new") or leaf command group ("spend").
struct command_spec {
    std::string path;       ///< Words after `purser`, space-separated.
    std::string args;       ///< Positional synopsis ("NAME"); may be empty.
    std::string summary;    ///< One line for the group listing.
    std::string about;      ///< Further paragraphs; may be empty.
    std::vector<option_spec> options;
};

/// Every command, in help order.
[[nodiscard]] const std::vector<command_spec>& command_table();

/// The entry for `path`, or nullptr.
[[nodiscard]] const command_spec* find_command(std::string_view path);

/// The full help of one command: usage line, about text, options with defaults and variables.
[[nodiscard]] std::string help_text(const command_spec& c);

/// The help of a group ("wallet"): one line per command under it. Empty when `group` has none.
[[nodiscard]] std::string group_help(std::string_view group);

/// `purser --help`: every command, and the environment variables every command reads.
[[nodiscard]] std::string top_level_help();

/// True when `args` asks for help (--help, -h or help as the first word).
[[nodiscard]] bool wants_help(const std::vector<std::string>& args);

/// Parses `args` with the options `path` declares (plus --help). On --help it prints the help to
/// stdout and sets exit_code 0; on a parse error it reports it and sets exit_code 2; both return
/// nullopt. Precondition: `path` is in the table.
[[nodiscard]] std::optional<options> parse_command(std::string_view path,
                                                   const std::vector<std::string>& args,
                                                   int& exit_code);

}  // namespace purser::cli
