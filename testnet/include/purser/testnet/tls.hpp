// The testnet's own certificate authority (EC P-256, OpenSSL 3) and the merchant's leaf
// certificate, valid for localhost and 127.0.0.1. Clients trust the CA file `testnet up` writes.
#pragma once

#include <string>

#include "purser/testnet/http.hpp"

namespace purser::testnet {

struct testnet_pki {
    std::string ca_cert_pem;  ///< Written to <dir>/ca.pem (PURSER_TESTNET_CA).
    tls_identity leaf;        ///< Leaf cert (followed by nothing: clients hold the CA) and key.
};

/// Fresh CA and leaf keys; the leaf has SANs DNS:localhost and IP:127.0.0.1.
/// Errors: unavailable (an OpenSSL call failed).
[[nodiscard]] result<testnet_pki> make_testnet_pki();

}  // namespace purser::testnet
