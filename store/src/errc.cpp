#include "purser/store/errc.hpp"

#include <string>

namespace purser::store {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "store"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::lmdb_failed: return "LMDB call failed";
            case errc::map_full: return "store is full (LMDB map size reached)";
            case errc::schema_too_new: return "store was written by a newer Purser";
            case errc::corrupt_record: return "corrupt store record";
            case errc::invalid_name: return "invalid agent name";
            case errc::invalid_argument: return "invalid argument";
            case errc::invalid_pattern: return "invalid host pattern";
            case errc::overflow: return "amount too large";
            case errc::agent_exists: return "agent already exists";
            case errc::payments_unsettled: return "agent has payments that may still move";
            case errc::agent_not_found: return "no such agent";
            case errc::bad_credentials: return "wrong agent token";
            case errc::no_allowance_limit: return "agent has no allowance limit";
            case errc::reservation_not_found: return "no such reservation";
            case errc::invalid_transition: return "reservation cannot make that transition";
            case errc::io_failed: return "file system error";
        }
        return "unknown store error";
    }
};

}  // namespace

const std::error_category& store_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), store_category()};
}

}  // namespace purser::store
