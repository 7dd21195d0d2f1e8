// The local certificate authority used for TLS interception: created once under PURSER_HOME/ca,
// then used to mint a short-lived leaf certificate for each intercepted host.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <openssl/types.h>

#include "purser/protocol/result.hpp"

namespace purser::proxy {

/// A minted leaf: the certificate (signed by the CA) and its own P-256 key.
struct leaf_certificate {
    std::shared_ptr<X509> cert;
    std::shared_ptr<EVP_PKEY> key;
};

class cert_authority {
public:
    /// Creates `dir`/ca.key (EC P-256, PEM, mode 0600) and `dir`/ca.crt (self-signed, CA:TRUE,
    /// keyCertSign, ten years) unless both exist. Returns true when it created them.
    /// Errors: ca_failure (naming the file or OpenSSL step), also when only one file exists.
    [[nodiscard]] static result<bool> init(const std::filesystem::path& dir);

    /// Loads the CA from `dir`. Errors: ca_failure (missing, unreadable, key does not match).
    [[nodiscard]] static result<std::shared_ptr<const cert_authority>> load(
        const std::filesystem::path& dir);

    /// Mints a leaf for `host` (a DNS name, or an IPv4/IPv6 literal which goes into an IP SAN),
    /// valid from one hour ago for 30 days, with its own new P-256 key. Thread-safe.
    /// Errors: ca_failure.
    [[nodiscard]] result<leaf_certificate> mint(const std::string& host) const;

    [[nodiscard]] const std::string& cert_pem() const { return cert_pem_; }
    [[nodiscard]] X509* cert() const { return cert_.get(); }

    /// Writes `dir`/bundle.pem = `system_roots` + the CA certificate, for runtimes that take one
    /// trust file (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE). Errors: ca_failure.
    [[nodiscard]] static result<std::filesystem::path> write_bundle(
        const std::filesystem::path& dir,
        const std::filesystem::path& system_roots = "/etc/ssl/certs/ca-certificates.crt");

private:
    std::shared_ptr<X509> cert_;
    std::shared_ptr<EVP_PKEY> key_;
    std::string cert_pem_;
};

}  // namespace purser::proxy
