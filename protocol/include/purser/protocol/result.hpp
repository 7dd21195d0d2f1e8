// The result type every Purser library returns: a value, or an error that is safe to show a user.
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace purser {

/// An error from outside input or the environment. `code` says what kind (each library has its
/// own category); `detail` names the field or call and the problem, and never holds a secret.
struct error {
    std::error_code code;
    std::string detail;

    /// "category: code message: detail", for logs and CLI output.
    [[nodiscard]] std::string message() const;
};

template <class T>
using result = tl::expected<T, error>;

/// Shorthand for returning an error from a function that returns result<T>.
[[nodiscard]] inline tl::unexpected<error> fail(std::error_code code, std::string detail = {}) {
    return tl::unexpected<error>(error{code, std::move(detail)});
}

/// Propagates the error of `expr` (a result) out of the calling function.
#define PURSER_TRY(var, expr)                                              \
    auto var##_result_ = (expr);                                           \
    if (!var##_result_) return tl::unexpected<::purser::error>(std::move(var##_result_).error()); \
    auto var = std::move(*var##_result_)

/// Propagates the error of `expr` (a result<void>, or a result whose value is not wanted) out of
/// the calling function. The variable is named after the line, so that a check inside a lambda
/// passed to another check does not shadow the outer one.
#define PURSER_CHECK(expr) PURSER_CHECK_NAMED_(expr, PURSER_CONCAT_(purser_check_, __LINE__))
#define PURSER_CONCAT_(a, b) PURSER_CONCAT_PASTE_(a, b)
#define PURSER_CONCAT_PASTE_(a, b) a##b
#define PURSER_CHECK_NAMED_(expr, name)                                            \
    do {                                                                           \
        if (auto name = (expr); !name)                                             \
            return tl::unexpected<::purser::error>(std::move(name).error());       \
    } while (false)

}  // namespace purser
