#include "purser/testnet/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "purser/testnet/errc.hpp"

namespace purser::testnet {
namespace {

struct pkey_free { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct x509_free { void operator()(X509* p) const { X509_free(p); } };
struct bio_free { void operator()(BIO* p) const { BIO_free(p); } };
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

tl::unexpected<error> ossl_fail(const char* what) { return fail(errc::unavailable, std::string("OpenSSL: ") + what); }

result<pkey_ptr> new_p256() {
    pkey_ptr k(EVP_EC_gen("P-256"));
    if (!k) return ossl_fail("EVP_EC_gen");
    return k;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return false;
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1;
}

result<x509_ptr> make_cert(EVP_PKEY* subject_key, const char* cn, X509* issuer, EVP_PKEY* issuer_key,
                           bool is_ca) {
    x509_ptr cert(X509_new());
    if (!cert) return ossl_fail("X509_new");
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return ossl_fail("RAND_bytes");
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    if (bn == nullptr || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) == nullptr) {
        BN_free(bn);
        return ossl_fail("serial");
    }
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 365);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("Purser testnet"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509* iss = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
    if (X509_set_pubkey(cert.get(), subject_key) != 1) return ossl_fail("X509_set_pubkey");
    bool ok = add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
    if (is_ca) {
        ok = ok && add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        ok = ok && add_ext(cert.get(), iss, NID_authority_key_identifier, "keyid") &&
             add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature") &&
             add_ext(cert.get(), iss, NID_ext_key_usage, "serverAuth") &&
             add_ext(cert.get(), iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    }
    if (!ok) return ossl_fail("X509 extensions");
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return ossl_fail("X509_sign");
    return cert;
}

result<std::string> to_pem(X509* cert, EVP_PKEY* key) {
    std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
    if (!bio) return ossl_fail("BIO_new");
    const int ok = cert != nullptr ? PEM_write_bio_X509(bio.get(), cert)
                                   : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    if (ok != 1) return ossl_fail("PEM_write");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

result<testnet_pki> make_testnet_pki() {
    PURSER_TRY(ca_key, new_p256());
    PURSER_TRY(ca, make_cert(ca_key.get(), "Purser testnet CA (local only)", nullptr, ca_key.get(), true));
    PURSER_TRY(leaf_key, new_p256());
    PURSER_TRY(leaf, make_cert(leaf_key.get(), "localhost", ca.get(), ca_key.get(), false));
    testnet_pki out;
    PURSER_TRY(ca_pem, to_pem(ca.get(), nullptr));
    PURSER_TRY(leaf_pem, to_pem(leaf.get(), nullptr));
    PURSER_TRY(key_pem, to_pem(nullptr, leaf_key.get()));
    out.ca_cert_pem = ca_pem;
    out.leaf = {leaf_pem, key_pem};
    return out;
}

}  // namespace purser::testnet
