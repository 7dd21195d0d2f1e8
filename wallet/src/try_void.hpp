// PURSER_TRY for result<void>: propagate the error, there is no value to bind.
#pragma once

#include "purser/protocol/result.hpp"

#define PURSER_WALLET_TRY_VOID(expr)                                            \
    do {                                                                        \
        auto purser_try_void_ = (expr);                                         \
        if (!purser_try_void_) {                                                \
            return tl::unexpected<::purser::error>(std::move(purser_try_void_).error()); \
        }                                                                       \
    } while (false)
