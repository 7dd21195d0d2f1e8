// An x402 facilitator over the simulated chain: GET /supported, POST /verify, POST /settle for
// `exact` (v1 and v2) and `batch-settlement` (v2: deposit, voucher, refund; and the server-side
// claim and settle operations). Reasons are the official packages' strings (x402.md §2 and the
// batch-settlement EVM spec); see testnet/README.md for the list.
#pragma once

#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

#include "purser/testnet/chain.hpp"
#include "purser/testnet/http.hpp"

namespace purser::testnet {

/// An HTTP status and a JSON body: 200 with isValid/success false for business failures, 400
/// when paymentPayload or paymentRequirements is missing (as the official example server).
struct facilitator_reply {
    unsigned status = 200;
    nlohmann::json body;
};

class facilitator {
public:
    /// `authorizer_key` signs claims and refunds as the batch receiverAuthorizer and relays
    /// transactions (the facilitator test account). Errors: invalid_request (bad key).
    [[nodiscard]] static result<std::unique_ptr<facilitator>> create(chain& c,
                                                                     const bytes32& authorizer_key);

    [[nodiscard]] const address& signer_address() const { return signer_; }
    [[nodiscard]] nlohmann::json supported() const;
    /// Body: {x402Version, paymentPayload, paymentRequirements}.
    [[nodiscard]] facilitator_reply verify(const nlohmann::json& body);
    [[nodiscard]] facilitator_reply settle(const nlohmann::json& body);
    [[nodiscard]] http_handler http();

private:
    facilitator(chain& c, const bytes32& key, const address& signer)
        : chain_(c), key_(key), signer_(signer) {}
    chain& chain_;
    bytes32 key_;
    address signer_;
};

}  // namespace purser::testnet
