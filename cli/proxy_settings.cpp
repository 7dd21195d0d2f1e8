#include "proxy_settings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "purser/store/store.hpp"

namespace purser::cli {

std::optional<std::filesystem::path> config_file(const options& o) {
    if (auto f = o.get("config")) return std::filesystem::path(*f);
    if (const char* env = std::getenv("PURSER_CONFIG"); env != nullptr && *env != '\0') {
        return std::filesystem::path(env);
    }
    return std::nullopt;
}

result<std::shared_ptr<const proxy::config>> proxy_settings(
    const options& o, std::initializer_list<const char*> keys) {
    proxy::config_sources sources;
    sources.file = config_file(o);
    std::vector<std::string> env_names;
    for (const char* key : keys) {
        std::string env = "PURSER_";
        for (const char* c = key; *c != '\0'; ++c) {
            env += static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
        }
        env_names.push_back(env);
    }
    sources.env = [env_names](const std::string& name) -> std::optional<std::string> {
        if (std::find(env_names.begin(), env_names.end(), name) == env_names.end()) {
            return std::nullopt;
        }
        const char* v = std::getenv(name.c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
    };
    sources.purser_home = purser_home();
    for (const char* key : keys) {
        std::string flag = key;
        std::replace(flag.begin(), flag.end(), '_', '-');
        if (auto v = o.get(flag)) sources.flags[flag] = {*v};
    }
    return proxy::load_config(sources);
}

result<std::unique_ptr<store::store>> open_proxy_store(const options& o) {
    PURSER_TRY(cfg, proxy_settings(o, {"store_dir"}));
    return store::store::open(cfg->store_dir);
}

}  // namespace purser::cli
