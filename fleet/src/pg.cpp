#include "purser/fleet/pg.hpp"

#include <libpq-fe.h>

namespace purser::fleet {
namespace {

// libpq's messages end with a newline; one line reads better in an error.
std::string one_line(const char* text) {
    std::string s = text == nullptr ? "" : text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (auto& ch : s) {
        if (ch == '\n') ch = ' ';
    }
    return s;
}

}  // namespace

std::string rows::text(std::size_t r, std::string_view column) const {
    for (std::size_t c = 0; c < columns.size(); ++c) {
        if (columns[c] == column) return values.at(r).at(c).value_or("");
    }
    return "";
}

std::uint64_t rows::u64(std::size_t r, std::string_view column) const {
    const std::string t = text(r, column);
    return t.empty() ? 0 : std::stoull(t);
}

struct connection::impl {
    PGconn* conn = nullptr;
    ~impl() {
        if (conn != nullptr) PQfinish(conn);
    }
};

connection::connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
connection::~connection() = default;

result<std::unique_ptr<connection>> connection::open(const connect_options& o) {
    // The password and timeout go as separate keywords next to the connection string (expanded by
    // libpq with expand_dbname), so the password never appears in a string that might be shown.
    const std::string timeout = std::to_string(o.connect_timeout_s);
    std::vector<const char*> keys{"dbname", "connect_timeout", "application_name"};
    std::vector<const char*> values{o.conninfo.c_str(), timeout.c_str(), "purser"};
    if (!o.password.empty()) {
        keys.push_back("password");
        values.push_back(o.password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    auto p = std::make_unique<impl>();
    p->conn = PQconnectdbParams(keys.data(), values.data(), 1);
    if (p->conn == nullptr || PQstatus(p->conn) != CONNECTION_OK) {
        const std::string why = p->conn == nullptr ? "out of memory" : one_line(PQerrorMessage(p->conn));
        return fail(std::make_error_code(std::errc::connection_refused), "PostgreSQL: " + why);
    }
    // Quiet NOTICEs (CREATE ... IF NOT EXISTS) instead of libpq printing them on stderr.
    PQsetNoticeProcessor(p->conn, [](void*, const char*) {}, nullptr);
    return std::unique_ptr<connection>(new connection(std::move(p)));
}

bool connection::healthy() const { return PQstatus(impl_->conn) == CONNECTION_OK; }

result<rows> connection::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    // Without parameters PQexec, which also runs a script of several statements (migrations).
    PGresult* res = params.empty() ? PQexec(impl_->conn, sql.c_str())
                                   : PQexecParams(impl_->conn, sql.c_str(), static_cast<int>(values.size()),
                                                  nullptr, values.data(), nullptr, nullptr, 0);
    const ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char* code = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
        sqlstate_ = code != nullptr ? code : "";
        std::string why = one_line(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(impl_->conn));
        if (why.empty()) why = one_line(PQerrorMessage(impl_->conn));
        PQclear(res);
        return fail(std::make_error_code(std::errc::io_error),
                    "PostgreSQL" + (sqlstate_.empty() ? std::string() : " " + sqlstate_) + ": " + why);
    }
    sqlstate_.clear();
    rows out;
    const int n_cols = PQnfields(res);
    const int n_rows = PQntuples(res);
    for (int c = 0; c < n_cols; ++c) out.columns.emplace_back(PQfname(res, c));
    out.values.reserve(static_cast<std::size_t>(n_rows));
    for (int r = 0; r < n_rows; ++r) {
        std::vector<std::optional<std::string>> row;
        row.reserve(static_cast<std::size_t>(n_cols));
        for (int c = 0; c < n_cols; ++c) {
            if (PQgetisnull(res, r, c)) row.emplace_back(std::nullopt);
            else row.emplace_back(std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c))));
        }
        out.values.push_back(std::move(row));
    }
    PQclear(res);
    return out;
}

}  // namespace purser::fleet
