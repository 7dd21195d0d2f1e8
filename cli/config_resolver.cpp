#include "config_resolver.hpp"

#include <cstdlib>

namespace purser::cli {
namespace {

std::optional<std::string> from_environment(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
}

bool set_in_environment(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0';
}

}  // namespace

std::filesystem::path purser_home() {
    if (const char* h = std::getenv("PURSER_HOME"); h != nullptr && *h != '\0') return h;
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".purser";
}

std::optional<std::filesystem::path> config_file(const options& o) {
    if (auto f = o.get("config")) return std::filesystem::path(*f);
    if (const char* env = std::getenv("PURSER_CONFIG"); env != nullptr && *env != '\0') {
        return std::filesystem::path(env);
    }
    return std::nullopt;
}

proxy::config_sources config_sources_of(const options& o) {
    proxy::config_sources sources;
    sources.file = config_file(o);
    sources.env = from_environment;
    sources.purser_home = purser_home();
    // A command only accepts the options its table entry declares, so a config key reaches here
    // as a flag only where the command offers it (`wallet --keystore`, `ca --ca-dir`, ...).
    for (const auto& f : proxy::config_flag_names())
        if (o.has(f)) sources.flags[f] = o.all(f);
    for (const auto& f : proxy::config_switch_names())
        if (o.has(f)) sources.flags[f] = {""};
    return sources;
}

result<std::shared_ptr<const proxy::config>> resolve_config(const options& o) {
    return proxy::load_config(config_sources_of(o));
}

result<std::filesystem::path> keystore_path(const options& o) {
    PURSER_TRY(cfg, resolve_config(o));
    return cfg->keystore;
}

result<std::unique_ptr<store::store>> open_proxy_store(const options& o) {
    PURSER_TRY(cfg, resolve_config(o));
    return store::store::open(cfg->store_dir);
}

const std::vector<secret_variable>& secret_variables() {
    static const std::vector<secret_variable> all = {
        {"wallet_password", "PURSER_WALLET_PASSWORD"},
        {"import_password", "PURSER_IMPORT_PASSWORD"},
        {"admin_token", "PURSER_ADMIN_TOKEN"},
    };
    return all;
}

std::vector<shown_setting> effective_settings(const options& o, const proxy::config& cfg) {
    std::vector<shown_setting> out;
    const bool home_set = set_in_environment("PURSER_HOME");
    out.push_back({"home", purser_home().string(), home_set ? "env:PURSER_HOME" : "default"});
    const auto file = config_file(o);
    out.push_back({"config", file ? nlohmann::json(file->string()) : nlohmann::json(nullptr),
                   o.get("config")   ? "flag:--config"
                   : file            ? "env:PURSER_CONFIG"
                                     : "default"});
    for (auto& s : proxy::describe_config(cfg))
        out.push_back({std::move(s.key), std::move(s.value), std::move(s.source), s.secret});
    for (const auto& v : secret_variables())
        if (std::getenv(v.env) != nullptr)
            out.push_back({v.key, nullptr, std::string("env:") + v.env, true});
    return out;
}

}  // namespace purser::cli
