// purser ca init | export | env: the local CA that TLS interception signs leaf certificates with.
#include <iostream>

#include "command_table.hpp"
#include "commands.hpp"
#include "config_resolver.hpp"
#include "options.hpp"
#include "purser/proxy/ca.hpp"

namespace purser::cli {
namespace {


/// Single-quotes a path for a POSIX shell.
std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

}  // namespace

int ca_command(const words& args) {
    if (args.empty() || wants_help(args) || find_command("ca " + args[0]) == nullptr) {
        const bool help = !args.empty() && wants_help(args);
        (help ? std::cout : std::cerr) << group_help("ca");
        return help ? 0 : 2;
    }
    const std::string sub = args[0];
    int rc = 0;
    auto opts = parse_command("ca " + sub, words(args.begin() + 1, args.end()), rc);
    if (!opts) return rc;
    if (!opts->positional().empty()) return report(help_text(*find_command("ca " + sub)), 2);
    auto cfg = resolve_config(*opts);
    if (!cfg) return report(cfg.error());
    const std::filesystem::path dir = (*cfg)->ca_dir;

    if (sub == "init") {
        auto created = proxy::cert_authority::init(dir);
        if (!created) return report(created.error());
        auto ca = proxy::cert_authority::load(dir);
        if (!ca) return report(ca.error());
        std::cout << (*created ? "created CA " : "CA already exists: ") << (dir / "ca.crt").string()
                  << "\n";
        return 0;
    }
    if (sub == "export" || sub == "env") {
        // Reading commands never create a key: a CA made as a side effect of `ca env` (say
        // with a mistyped --ca-dir or PURSER_HOME) would be trusted without anyone deciding to.
        std::error_code ec;
        if (!std::filesystem::exists(dir / "ca.crt", ec) ||
            !std::filesystem::exists(dir / "ca.key", ec)) {
            const auto file = opts->get("config");
            return report("no CA in " + dir.string() + ": create one with `purser ca init" +
                          (opts->has("ca-dir") ? " --ca-dir " + dir.string() : std::string()) +
                          (file ? " --config " + *file : std::string()) +
                          "` (or start the proxy, which creates it)");
        }
        auto ca = proxy::cert_authority::load(dir);
        if (!ca) return report(ca.error());
        if (sub == "export") {
            std::cout << (*ca)->cert_pem();
            return 0;
        }
        auto bundle = proxy::cert_authority::write_bundle(dir);
        if (!bundle) return report(bundle.error());
        const std::string b = shell_quote(bundle->string());
        std::cout << "export SSL_CERT_FILE=" << b << "\n"
                  << "export CURL_CA_BUNDLE=" << b << "\n"
                  << "export REQUESTS_CA_BUNDLE=" << b << "\n"
                  << "export NODE_EXTRA_CA_CERTS=" << shell_quote((dir / "ca.crt").string())
                  << "\n";
        return 0;
    }
    return report(group_help("ca"), 2);
}

}  // namespace purser::cli
