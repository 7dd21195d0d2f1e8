#include "purser/proxy/ca.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "purser/proxy/errc.hpp"

namespace purser::proxy {
namespace {

namespace fs = std::filesystem;

tl::unexpected<error> ca_fail(const std::string& what) {
    // The OpenSSL queue explains most failures; take its last entry and clear the rest so a
    // later, unrelated call does not report it.
    std::string detail = what;
    if (const unsigned long e = ERR_peek_last_error(); e != 0) {
        std::array<char, 256> buf{};
        ERR_error_string_n(e, buf.data(), buf.size());
        detail += " (" + std::string(buf.data()) + ")";
    }
    ERR_clear_error();
    return fail(errc::ca_failure, detail);
}

template <class T, void (*Free)(T*)>
std::shared_ptr<T> own(T* p) {
    return std::shared_ptr<T>(p, [](T* q) { Free(q); });
}

std::shared_ptr<X509> own_x509(X509* p) { return own<X509, X509_free>(p); }
std::shared_ptr<EVP_PKEY> own_key(EVP_PKEY* p) { return own<EVP_PKEY, EVP_PKEY_free>(p); }

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

result<std::shared_ptr<EVP_PKEY>> new_p256_key() {
    EVP_PKEY* k = EVP_EC_gen("P-256");
    if (k == nullptr) return ca_fail("EC P-256 key generation failed");
    return own_key(k);
}

result<void> add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return ca_fail(std::string("cannot build extension ") + OBJ_nid2sn(nid));
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) return ca_fail(std::string("cannot add extension ") + OBJ_nid2sn(nid));
    return {};
}

/// A certificate with a random positive 127-bit serial, the given subject CN, validity and key.
result<std::shared_ptr<X509>> new_cert(const std::string& cn, long not_before_s, long not_after_s,
                                       EVP_PKEY* key) {
    auto cert = own_x509(X509_new());
    if (!cert) return ca_fail("X509_new failed");
    if (X509_set_version(cert.get(), 2) != 1) return ca_fail("X509_set_version failed");
    std::array<unsigned char, 16> serial{};
    if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1)
        return ca_fail("RAND_bytes failed");
    serial[0] &= 0x7f;  // positive, as RFC 5280 requires
    BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
    if (bn == nullptr || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) == nullptr) {
        BN_free(bn);
        return ca_fail("cannot set serial number");
    }
    BN_free(bn);
    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_s) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_s) == nullptr)
        return ca_fail("cannot set validity");
    X509_NAME* name = X509_get_subject_name(cert.get());
    // CN is limited to 64 characters; the SAN carries the full host anyway.
    const std::string short_cn = cn.substr(0, 64);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>("Purser"), -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(short_cn.c_str()), -1,
                                   -1, 0) != 1)
        return ca_fail("cannot set subject name");
    if (X509_set_pubkey(cert.get(), key) != 1) return ca_fail("cannot set public key");
    return cert;
}

result<void> write_private(const fs::path& path, const std::string& data, mode_t mode) {
    // Write to a temporary name created with the final mode (never briefly world-readable),
    // sync, then rename, so a crash leaves either nothing or the whole file.
    const fs::path tmp = path.string() + ".tmp";
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return fail(errc::ca_failure, tmp.string() + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            ::close(fd);
            return fail(errc::ca_failure, tmp.string() + ": " + why);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        return fail(errc::ca_failure, tmp.string() + ": " + why);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return fail(errc::ca_failure, path.string() + ": " + std::strerror(errno));
    return {};
}

result<std::string> read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(errc::ca_failure, path.string() + ": cannot read");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool is_ip_literal(const std::string& host) {
    std::array<unsigned char, 16> buf{};
    return ::inet_pton(AF_INET, host.c_str(), buf.data()) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

}  // namespace

result<bool> cert_authority::init(const fs::path& dir) {
    const fs::path key_path = dir / "ca.key";
    const fs::path crt_path = dir / "ca.crt";
    std::error_code ec;
    const bool have_key = fs::exists(key_path, ec);
    const bool have_crt = fs::exists(crt_path, ec);
    if (have_key && have_crt) return false;
    if (have_key != have_crt)
        return fail(errc::ca_failure, dir.string() + " holds only one of ca.key and ca.crt; "
                                                     "remove it or restore the other");
    fs::create_directories(dir, ec);
    if (ec) return fail(errc::ca_failure, dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

    PURSER_TRY(key, new_p256_key());
    constexpr long ten_years_s = 3650L * 24 * 3600;
    PURSER_TRY(cert, new_cert("Purser local CA", -3600, ten_years_s, key.get()));
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1)
        return ca_fail("cannot set issuer");
    PURSER_CHECK(add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
    PURSER_CHECK(add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
    PURSER_CHECK(add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return ca_fail("cannot self-sign");

    auto key_bio = own<BIO, BIO_free_all>(BIO_new(BIO_s_mem()));
    auto crt_bio = own<BIO, BIO_free_all>(BIO_new(BIO_s_mem()));
    if (!key_bio || !crt_bio ||
        PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                 nullptr) != 1 ||
        PEM_write_bio_X509(crt_bio.get(), cert.get()) != 1)
        return ca_fail("cannot encode PEM");
    std::string key_pem = bio_string(key_bio.get());
    auto wrote = write_private(key_path, key_pem, 0600);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    PURSER_CHECK(wrote);
    PURSER_CHECK(write_private(crt_path, bio_string(crt_bio.get()), 0644));
    return true;
}

result<std::shared_ptr<const cert_authority>> cert_authority::load(const fs::path& dir) {
    PURSER_TRY(crt_text, read_text(dir / "ca.crt"));
    PURSER_TRY(key_text, read_text(dir / "ca.key"));
    auto ca = std::make_shared<cert_authority>();
    {
        auto bio = own<BIO, BIO_free_all>(
            BIO_new_mem_buf(crt_text.data(), static_cast<int>(crt_text.size())));
        ca->cert_ = own_x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!ca->cert_) return ca_fail((dir / "ca.crt").string() + ": not a PEM certificate");
    }
    {
        auto bio = own<BIO, BIO_free_all>(
            BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())));
        ca->key_ = own_key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
        OPENSSL_cleanse(key_text.data(), key_text.size());
        if (!ca->key_) return ca_fail((dir / "ca.key").string() + ": not a PEM private key");
    }
    if (X509_check_private_key(ca->cert_.get(), ca->key_.get()) != 1)
        return ca_fail(dir.string() + ": ca.key does not match ca.crt");
    ca->cert_pem_ = std::move(crt_text);
    return std::shared_ptr<const cert_authority>(std::move(ca));
}

result<leaf_certificate> cert_authority::mint(const std::string& host) const {
    if (host.empty()) return fail(errc::ca_failure, "empty host name");
    PURSER_TRY(key, new_p256_key());
    constexpr long thirty_days_s = 30L * 24 * 3600;
    PURSER_TRY(cert, new_cert(host, -3600, thirty_days_s, key.get()));
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) != 1)
        return ca_fail("cannot set issuer");
    const std::string san = (is_ip_literal(host) ? "IP:" : "DNS:") + host;
    PURSER_CHECK(add_ext(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE"));
    PURSER_CHECK(add_ext(cert.get(), cert_.get(), NID_key_usage,
                         "critical,digitalSignature,keyEncipherment"));
    PURSER_CHECK(add_ext(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth"));
    PURSER_CHECK(add_ext(cert.get(), cert_.get(), NID_subject_alt_name, san.c_str()));
    PURSER_CHECK(add_ext(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always"));
    if (X509_sign(cert.get(), key_.get(), EVP_sha256()) <= 0)
        return ca_fail("cannot sign leaf for " + host);
    return leaf_certificate{std::move(cert), std::move(key)};
}

result<fs::path> cert_authority::write_bundle(const fs::path& dir, const fs::path& system_roots) {
    PURSER_TRY(roots, read_text(system_roots));
    PURSER_TRY(ca_pem, read_text(dir / "ca.crt"));
    if (!roots.empty() && roots.back() != '\n') roots += '\n';
    const fs::path bundle = dir / "bundle.pem";
    PURSER_CHECK(write_private(bundle, roots + ca_pem, 0644));
    return bundle;
}

}  // namespace purser::proxy
