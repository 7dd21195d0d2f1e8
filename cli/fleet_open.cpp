#include "fleet_open.hpp"

#include <cstdlib>

#include "purser/protocol/errc.hpp"

namespace purser::cli {

result<std::unique_ptr<fleet::connection>> open_fleet(const options& o) {
    std::optional<std::string> db = o.get("db");
    if (!db) {
        if (const char* e = std::getenv("PURSER_FLEET_DB"); e != nullptr && *e != '\0') db = e;
    }
    if (!db) return fail(protocol::errc::missing_field, "no fleet database: give --db URL or set PURSER_FLEET_DB");
    fleet::connect_options co;
    co.conninfo = *db;
    std::optional<std::string> file = o.get("db-password-file");
    if (!file) {
        if (const char* e = std::getenv("PURSER_FLEET_PASSWORD_FILE"); e != nullptr && *e != '\0') file = e;
    }
    if (file) {
        PURSER_TRY(pw, read_password_file(*file, "the fleet database password file"));
        co.password = std::move(pw);
    }
    return fleet::connection::open(co);
}

}  // namespace purser::cli
