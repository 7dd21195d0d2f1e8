#include "rpc_options.hpp"

#include <cstdlib>
#include <string>

#include "purser/protocol/errc.hpp"

namespace purser::cli {

result<std::unique_ptr<chain::json_rpc_client>> rpc_from_options(const options& opts) {
    std::string url = opts.get_or("rpc", "");
    if (url.empty()) {
        if (const char* e = std::getenv("PURSER_TESTNET_RPC"); e != nullptr) url = e;
    }
    if (url.empty()) {
        return fail(protocol::errc::missing_field, "--rpc URL is needed (or set PURSER_TESTNET_RPC)");
    }
    PURSER_TRY(ep, chain::parse_rpc_url(url));
    return std::make_unique<chain::json_rpc_client>(std::move(ep));
}

}  // namespace purser::cli
