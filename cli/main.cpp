// purser: one binary, one subcommand per job (see README "Command line").
#include <iostream>
#include <string>
#include <vector>

#include "command_table.hpp"
#include "commands.hpp"
#include "malloc_in_use.hpp"
#include "options.hpp"


int main(int argc, char** argv) {
    using namespace purser::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << top_level_help();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version" || args[0] == "version") {
        std::cout << "purser " << PURSER_VERSION << "\nmalloc: " << malloc_in_use() << "\n";
        return 0;
    }
    const std::string cmd = args[0];
    words rest(args.begin() + 1, args.end());
    if (cmd == "x402") {
        const std::string sub = rest.empty() ? "" : rest[0];
        words tail = rest.empty() ? words{} : words(rest.begin() + 1, rest.end());
        if (sub == "decode") return x402_decode_command(tail);
        if (sub == "sign") return x402_sign_command(tail);
        if (sub == "verify") return x402_verify_command(tail);
        const bool help = wants_help(rest);
        (help ? std::cout : std::cerr) << group_help("x402");
        return help ? 0 : 2;
    }
    if (cmd == "wallet") return wallet_command(rest);
    if (cmd == "agent") return agent_command(rest);
    if (cmd == "ledger") return ledger_command(rest);
    if (cmd == "spend") return spend_command(rest);
    if (cmd == "iou") return iou_command(rest);
    if (cmd == "ca") return ca_command(rest);
    if (cmd == "proxy") return proxy_command(rest);
    if (cmd == "testnet") return testnet_command(rest);
    if (cmd == "fleet") return fleet_command(rest);
    if (cmd == "budget") return budget_command(rest);
    if (cmd == "config") return config_command(rest);
    std::cerr << "purser: unknown command '" << cmd << "'\n" << top_level_help();
    return 2;
}
