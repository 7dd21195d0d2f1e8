// PURSER_TRY for result<void>: propagate the error, there is no value to bind.
#pragma once

#include "purser/protocol/result.hpp"

#define TESTNET_CHECK(expr)                                                         \
    do {                                                                            \
        auto check_result_ = (expr);                                                \
        if (!check_result_) return tl::unexpected<::purser::error>(std::move(check_result_).error()); \
    } while (false)
