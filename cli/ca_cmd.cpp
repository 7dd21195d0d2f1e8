// purser ca init | export | env: the local CA that TLS interception signs leaf certificates with.
#include <iostream>

#include "commands.hpp"
#include "options.hpp"
#include "purser/proxy/ca.hpp"

namespace purser::cli {
namespace {

constexpr const char* ca_usage = R"usage(usage: purser ca init|export|env [--ca-dir DIR]

  init    create PURSER_HOME/ca/ca.key (EC P-256, mode 0600) and ca.crt, unless they exist
  export  print the CA certificate (PEM)
  env     write PURSER_HOME/ca/bundle.pem (system roots + the CA) and print the lines that make
          curl, Python requests, Node and OpenSSL-based runtimes trust it:
            eval "$(purser ca env)"
)usage";

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
    auto opts = options::parse(args, {"ca-dir"}, {"help"});
    if (!opts) return report(opts.error(), 2);
    if (opts->has("help")) {
        std::cout << ca_usage;
        return 0;
    }
    if (opts->positional().size() != 1) {
        std::cerr << ca_usage;
        return 2;
    }
    const std::string sub = opts->positional()[0];
    const std::filesystem::path dir = opts->get("ca-dir").value_or((purser_home() / "ca").string());

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
        // The proxy creates the CA on first start; these commands do the same so that
        // `eval "$(purser ca env)"` works before the proxy has ever run.
        auto created = proxy::cert_authority::init(dir);
        if (!created) return report(created.error());
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
    std::cerr << ca_usage;
    return 2;
}

}  // namespace purser::cli
