// purser config show: the effective configuration, each value with where it came from.
#include <iostream>

#include "command_table.hpp"
#include "commands.hpp"
#include "config_resolver.hpp"
#include "options.hpp"
#include "purser/proxy/payment_options.hpp"

namespace purser::cli {
namespace {

/// A value as a person reads it: strings bare, unset as "(unset)", the rest as compact JSON.
std::string value_text(const shown_setting& s) {
    // A secret key of the table that nothing set still has its default source: say it is unset.
    if (s.secret) return s.source == "default" ? "(unset)" : "(set, from " + s.source + ")";
    if (s.value.is_null()) return "(unset)";
    if (s.value.is_string()) return s.value.get<std::string>();
    return s.value.dump();
}

int print_table(const std::vector<shown_setting>& settings) {
    std::size_t key_width = 3;
    std::size_t value_width = 5;
    for (const auto& s : settings) {
        key_width = std::max(key_width, s.key.size());
        value_width = std::max(value_width, value_text(s).size());
    }
    auto pad = [](std::string text, std::size_t width) {
        text.resize(std::max(text.size(), width), ' ');
        return text;
    };
    std::cout << pad("KEY", key_width) << "  " << pad("VALUE", value_width) << "  SOURCE\n";
    for (const auto& s : settings)
        std::cout << pad(s.key, key_width) << "  " << pad(value_text(s), value_width) << "  "
                  << s.source << "\n";
    return 0;
}

int print_json(const std::vector<shown_setting>& settings) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : settings) {
        nlohmann::json row = {{"key", s.key}, {"source", s.source}};
        // A secret row says that it is set and where from; it has no value field at all.
        if (s.secret) {
            row["secret"] = true;
            row["set"] = s.source != "default";
        }
        else row["value"] = s.value;
        rows.push_back(std::move(row));
    }
    std::cout << rows.dump(2) << "\n";
    return 0;
}

}  // namespace

int config_command(const words& args) {
    if (args.empty() || wants_help(args) || find_command("config " + args[0]) == nullptr) {
        const bool help = !args.empty() && wants_help(args);
        (help ? std::cout : std::cerr) << group_help("config");
        return help ? 0 : 2;
    }
    int rc = 0;
    auto opts = parse_command("config show", words(args.begin() + 1, args.end()), rc);
    if (!opts) return rc;
    if (!opts->positional().empty()) return report(help_text(*find_command("config show")), 2);
    const std::string format = opts->get_or("format", "table");
    if (format != "table" && format != "json")
        return report("--format " + format + ": expected table or json", 2);

    auto cfg = resolve_config(*opts);
    if (!cfg) return report(cfg.error(), 2);
    // The payment section is the payment flow's to judge; a mistake in it stops the proxy, so
    // it is reported here too, by the same parser.
    const auto registry = protocol::network_registry::builtin();
    if (auto payment = proxy::parse_payment_section((*cfg)->payment, registry); !payment)
        return report(payment.error(), 2);

    const auto settings = effective_settings(*opts, **cfg);
    return format == "json" ? print_json(settings) : print_table(settings);
}

}  // namespace purser::cli
