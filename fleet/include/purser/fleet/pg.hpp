// One PostgreSQL connection (libpq), with parameterised statements only: no SQL is ever built
// from values, so a budget or agent name cannot change a statement.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "purser/protocol/result.hpp"

namespace purser::fleet {

/// Rows of text values (NULL as nullopt), as libpq returns them in text format.
struct rows {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> values;

    [[nodiscard]] std::size_t size() const { return values.size(); }
    /// Value of `column` in row `r`; "" for NULL. Precondition: the column exists.
    [[nodiscard]] std::string text(std::size_t r, std::string_view column) const;
    /// The same as an unsigned integer (bigint columns Purser wrote); 0 for NULL.
    [[nodiscard]] std::uint64_t u64(std::size_t r, std::string_view column) const;
};

/// Where the database is: a libpq connection string or URI ("postgresql://user@host:port/db"),
/// and the password kept apart from it (read from a file, never from a flag).
struct connect_options {
    std::string conninfo;
    std::string password;
    int connect_timeout_s = 5;
};

class connection {
public:
    /// Errors: std::errc::connection_refused with libpq's message (the password never in it).
    [[nodiscard]] static result<std::unique_ptr<connection>> open(const connect_options& o);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Runs one statement with $1.. parameters (text; nullopt = NULL); without parameters, a
    /// script of several statements (the migrations).
    /// Errors: std::errc::io_error with the server's message and SQLSTATE (e.g. "40001").
    [[nodiscard]] result<rows> exec(const std::string& sql,
                                    const std::vector<std::optional<std::string>>& params = {});
    /// The SQLSTATE of the last failed statement ("" when it succeeded).
    [[nodiscard]] const std::string& last_sqlstate() const { return sqlstate_; }
    /// False once the server has gone (the next call reconnects nothing: open a new one).
    [[nodiscard]] bool healthy() const;

private:
    struct impl;
    explicit connection(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
    std::string sqlstate_;
};

/// Runs `body` in a transaction (BEGIN ... COMMIT), rolling back when it fails. A serialization
/// failure or deadlock (SQLSTATE 40001 / 40P01) is retried up to `attempts` times.
template <class F>
auto in_transaction(connection& c, F&& body, int attempts = 5) -> decltype(body()) {
    for (int i = 1;; ++i) {
        if (auto begun = c.exec("BEGIN"); !begun) return tl::unexpected(begun.error());
        auto out = body();
        if (out) {
            if (auto done = c.exec("COMMIT"); done) return out;
        }
        const std::string state = c.last_sqlstate();
        (void)c.exec("ROLLBACK");
        const bool retryable = state == "40001" || state == "40P01";
        if (!retryable || i >= attempts) {
            if (!out) return out;
            return tl::unexpected(error{std::make_error_code(std::errc::io_error), "COMMIT failed (" + state + ")"});
        }
    }
}

}  // namespace purser::fleet
