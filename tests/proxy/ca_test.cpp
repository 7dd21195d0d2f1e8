#include "purser/proxy/ca.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "purser/proxy/errc.hpp"
#include "test_support.hpp"

using namespace purser::proxy;

namespace {

bool verifies(X509* leaf, X509* root, const char* host, bool ip) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, root);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, host);
    else X509_VERIFY_PARAM_set1_host(param, host, 0);
    const bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

}  // namespace

TEST_CASE("ca init creates a P-256 CA with a private key file", "[proxy]") {
    purser::test::temp_dir tmp;
    const auto dir = tmp.path() / "ca";
    auto created = cert_authority::init(dir);
    REQUIRE(created);
    CHECK(*created);
    struct stat st{};
    REQUIRE(::stat((dir / "ca.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto again = cert_authority::init(dir);
    REQUIRE(again);
    CHECK_FALSE(*again);  // never overwrites

    auto ca = cert_authority::load(dir);
    REQUIRE(ca);
    X509* cert = (*ca)->cert();
    CHECK(X509_check_ca(cert) >= 1);
    CHECK((X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) != 0);
    EVP_PKEY* pub = X509_get0_pubkey(cert);
    CHECK(EVP_PKEY_get_bits(pub) == 256);
    CHECK((*ca)->cert_pem().rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
}

TEST_CASE("minted leaves verify for their host and no other", "[proxy]") {
    purser::test::temp_dir tmp;
    REQUIRE(cert_authority::init(tmp.path()));
    auto ca = cert_authority::load(tmp.path());
    REQUIRE(ca);
    auto leaf = (*ca)->mint("api.merchant.test");
    REQUIRE(leaf);
    CHECK(verifies(leaf->cert.get(), (*ca)->cert(), "api.merchant.test", false));
    CHECK_FALSE(verifies(leaf->cert.get(), (*ca)->cert(), "other.test", false));
    CHECK(X509_check_ca(leaf->cert.get()) == 0);

    auto ip = (*ca)->mint("127.0.0.1");
    REQUIRE(ip);
    CHECK(verifies(ip->cert.get(), (*ca)->cert(), "127.0.0.1", true));
    CHECK_FALSE(verifies(ip->cert.get(), (*ca)->cert(), "127.0.0.2", true));

    // Validity: short-lived (at most 31 days ahead).
    int days = 0, secs = 0;
    REQUIRE(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(leaf->cert.get())) == 1);
    CHECK(days <= 31);
    CHECK(days >= 29);
}

TEST_CASE("a half-present or corrupt CA is an error, not overwritten", "[proxy]") {
    purser::test::temp_dir tmp;
    REQUIRE(cert_authority::init(tmp.path()));
    std::filesystem::remove(tmp.path() / "ca.crt");
    auto half = cert_authority::init(tmp.path());
    REQUIRE_FALSE(half);
    CHECK(half.error().code == errc::ca_failure);
    CHECK(std::filesystem::exists(tmp.path() / "ca.key"));

    purser::test::temp_dir other;
    std::ofstream(other.path() / "ca.crt") << "not a certificate";
    std::ofstream(other.path() / "ca.key") << "not a key";
    auto bad = cert_authority::load(other.path());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().detail.find("ca.crt") != std::string::npos);
}

TEST_CASE("trust bundle is the system roots plus the CA", "[proxy]") {
    purser::test::temp_dir tmp;
    REQUIRE(cert_authority::init(tmp.path()));
    const auto roots = tmp.path() / "roots.pem";
    std::ofstream(roots) << "ROOTS";
    auto bundle = cert_authority::write_bundle(tmp.path(), roots);
    REQUIRE(bundle);
    const auto text = purser::test::read_file(*bundle);
    CHECK(text.rfind("ROOTS\n-----BEGIN CERTIFICATE-----", 0) == 0);
    CHECK(text.size() > 6 + purser::test::read_file(tmp.path() / "ca.crt").size() - 1);
}

TEST_CASE("purser ca init / export / env", "[proxy]") {
    purser::test::temp_dir home;
    const std::string env = "PURSER_HOME='" + home.path().string() + "' ";
    const std::string bin = PURSER_BIN;
    const auto run = [&](const std::string& args) {
        auto r = purser::test::run_shell(env + bin + " " + args + " 2>&1");
        return std::pair{r.exit_code, r.out};
    };
    // Reading commands never create a CA; they name the directory and the command that does.
    for (const char* reader : {"ca export", "ca env"}) {
        auto [rc, out] = run(reader);
        CHECK(rc == 1);
        CHECK(out.find((home.path() / "ca").string()) != std::string::npos);
        CHECK(out.find("purser ca init") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(home.path() / "ca" / "ca.key"));
    }

    auto [init_rc, init_out] = run("ca init");
    CHECK(init_rc == 0);
    CHECK(init_out.find("created CA") != std::string::npos);
    const auto crt = purser::test::read_file(home.path() / "ca" / "ca.crt");
    auto [again_rc, again_out] = run("ca init");
    CHECK(again_rc == 0);
    CHECK(again_out.find("already exists") != std::string::npos);
    CHECK(purser::test::read_file(home.path() / "ca" / "ca.crt") == crt);  // untouched

    auto [export_rc, export_out] = run("ca export");
    CHECK(export_rc == 0);
    CHECK(export_out == crt);
    CHECK(export_out.find("PRIVATE") == std::string::npos);

    auto [env_rc, env_out] = run("ca env");
    CHECK(env_rc == 0);
    const std::string bundle = (home.path() / "ca" / "bundle.pem").string();
    CHECK(env_out.find("export SSL_CERT_FILE='" + bundle + "'") != std::string::npos);
    CHECK(env_out.find("export CURL_CA_BUNDLE='" + bundle + "'") != std::string::npos);
    CHECK(env_out.find("export REQUESTS_CA_BUNDLE='" + bundle + "'") != std::string::npos);
    CHECK(env_out.find("export NODE_EXTRA_CA_CERTS='" + (home.path() / "ca" / "ca.crt").string() +
                       "'") != std::string::npos);
    const auto b = purser::test::read_file(bundle);
    CHECK(b.size() > crt.size());
    CHECK(b.substr(b.size() - crt.size()) == crt);

    auto [bad_rc, bad_out] = run("ca frobnicate");
    CHECK(bad_rc == 2);
}
