#include "config_fleet.hpp"

#include <unistd.h>

#include <cctype>
#include <climits>

#include "purser/proxy/errc.hpp"

namespace purser::proxy::detail {
namespace {

using json = nlohmann::json;

tl::unexpected<error> bad(const std::string& where, const std::string& why) {
    return fail(errc::invalid_option, where + ": " + why);
}

bool valid_proxy_id(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    for (const char c : id) {
        const auto ch = static_cast<unsigned char>(c);
        if (!(std::isalnum(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-')) return false;
    }
    return true;
}

result<void> set_member(fleet_settings& f, const std::string& member, const std::string& value,
                        const std::string& where) {
    if (member == "database") {
        f.database = value;
    } else if (member == "password_file") {
        if (value.empty()) f.password_file.reset();
        else f.password_file = value;
    } else if (member == "proxy_id") {
        if (!value.empty() && !valid_proxy_id(value))
            return bad(where, "a proxy id is 1..128 of A-Z a-z 0-9 . _ : -");
        f.proxy_id = value;
    } else {
        return bad(where, "unknown member '" + member + "' (database, password_file, proxy_id)");
    }
    return {};
}

}  // namespace

result<void> apply_fleet_section(config& c, const json& v, const std::string& where) {
    if (!v.is_object()) return bad(where, "expected a JSON object");
    fleet_settings f;
    for (const auto& [member, value] : v.items()) {
        if (!value.is_string()) return bad(where + " member '" + member + "'", "expected a string");
        if (auto ok = set_member(f, member, value.get<std::string>(), where + " member '" + member + "'");
            !ok) {
            return ok;
        }
    }
    c.fleet = std::move(f);
    return {};
}

result<void> apply_fleet_environment(
    config& c, const std::function<std::optional<std::string>(const std::string&)>& env) {
    if (!env) return {};
    static const std::pair<const char*, const char*> vars[] = {
        {"PURSER_FLEET_DB", "database"},
        {"PURSER_FLEET_PASSWORD_FILE", "password_file"},
        {"PURSER_FLEET_PROXY_ID", "proxy_id"},
    };
    for (const auto& [var, member] : vars) {
        auto text = env(var);
        if (!text) continue;
        if (auto ok = set_member(c.fleet, member, *text, std::string("environment ") + var); !ok) return ok;
        c.origin["fleet"] = std::string("env:") + var;
    }
    return {};
}

result<void> finish_fleet(fleet_settings& f) {
    if (!f.enabled() || !f.proxy_id.empty()) return {};
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || !valid_proxy_id(name))
        return bad("fleet.proxy_id", "not set, and the host name cannot stand in for it");
    f.proxy_id = name;
    return {};
}

json fleet_shown(const fleet_settings& f) {
    if (!f.enabled() && f.proxy_id.empty() && !f.password_file) return nullptr;
    std::string db = f.database;
    // "postgresql://user:secret@host/db": keep the scheme and what follows the '@'.
    if (const auto scheme = db.find("://"); scheme != std::string::npos) {
        const auto at = db.find('@', scheme + 3);
        const auto path = db.find('/', scheme + 3);
        if (at != std::string::npos && (path == std::string::npos || at < path))
            db = db.substr(0, scheme + 3) + "(redacted)" + db.substr(at);
    }
    // "host=... password=secret": never shown.
    if (const auto pw = db.find("password="); pw != std::string::npos) {
        const auto end = db.find(' ', pw);
        db = db.substr(0, pw) + "password=(redacted)" + (end == std::string::npos ? "" : db.substr(end));
    }
    json out = json::object();
    out["database"] = db;
    out["password_file"] = f.password_file ? json(f.password_file->string()) : json(nullptr);
    out["proxy_id"] = f.proxy_id;
    return out;
}

}  // namespace purser::proxy::detail
