#include "purser/wallet/keystore.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <regex>

#include "purser/wallet/errc.hpp"
#include "test_support.hpp"

using namespace purser;
using namespace purser::wallet;
using nlohmann::json;

namespace {

constexpr const char* hardhat1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const scrypt_params light{1024, 8, 1};

unsigned file_mode(const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777u;
}

}  // namespace

TEST_CASE("keystore_v3.json: every keystore decrypts to its key", "[wallet][keystore]") {
    auto v = test::load_vectors("keystore_v3.json");
    REQUIRE(v["cases"].size() >= 3);
    for (const auto& c : v["cases"]) {
        INFO(c["label"].get<std::string>());
        auto key = decrypt_keystore(c["keystore"].dump(), c["password"].get<std::string>());
        REQUIRE(key);
        CHECK(protocol::to_hex(key->reveal()) == c["private_key"]);
        CHECK(key->address().to_checksum() == c["address"]);
    }
}

TEST_CASE("keystore_v3.json: a wrong password fails with wrong_password", "[wallet][keystore]") {
    auto v = test::load_vectors("keystore_v3.json");
    for (const auto& c : v["cases"]) {
        INFO(c["label"].get<std::string>());
        auto key = decrypt_keystore(c["keystore"].dump(), "not-the-password");
        REQUIRE_FALSE(key);
        CHECK(key.error().code == errc::wrong_password);
        CHECK(key.error().message().find("not-the-password") == std::string::npos);
    }
}

TEST_CASE("keystore: malformed and unsupported files are refused", "[wallet][keystore]") {
    auto v = test::load_vectors("keystore_v3.json");
    const json good = v["cases"][0]["keystore"];
    const std::string pw = v["cases"][0]["password"];
    auto code_of = [&](const json& ks) {
        auto r = decrypt_keystore(ks.dump(), pw);
        REQUIRE_FALSE(r);
        return r.error().code;
    };
    CHECK(decrypt_keystore("not json", pw).error().code == errc::bad_keystore);
    CHECK(decrypt_keystore("[]", pw).error().code == errc::bad_keystore);
    json k = good;
    k["version"] = 1;
    CHECK(code_of(k) == errc::bad_keystore);
    k = good;
    k["Crypto"]["cipher"] = "aes-128-cbc";
    CHECK(code_of(k) == errc::unsupported_kdf);
    k = good;
    k["Crypto"]["kdf"] = "argon2";
    CHECK(code_of(k) == errc::unsupported_kdf);
    k = good;
    k["Crypto"]["kdfparams"]["n"] = 1000;  // not a power of two
    CHECK(code_of(k) == errc::unsupported_kdf);
    k = good;
    k["Crypto"]["kdfparams"]["n"] = 1ULL << 30;  // would need 128 GiB
    CHECK(code_of(k) == errc::unsupported_kdf);
    k = good;
    k["Crypto"]["kdfparams"]["dklen"] = 16;
    CHECK(code_of(k) == errc::unsupported_kdf);
    k = good;
    k["Crypto"]["ciphertext"] = "zz";
    CHECK(code_of(k) == errc::bad_keystore);
    k = good;
    k["Crypto"].erase("mac");
    CHECK(code_of(k) == errc::bad_keystore);
    // A flipped ciphertext bit fails the MAC: never a garbage key.
    k = good;
    std::string ct = k["Crypto"]["ciphertext"];
    ct[0] = ct[0] == '0' ? '1' : '0';
    k["Crypto"]["ciphertext"] = ct;
    CHECK(code_of(k) == errc::wrong_password);
    // An address field that does not match the key is refused.
    k = good;
    k["address"] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    CHECK(code_of(k) == errc::bad_keystore);
    // pbkdf2 with another PRF is refused.
    json p = v["cases"][2]["keystore"];
    p["crypto"]["kdfparams"]["prf"] = "hmac-sha512";
    auto r = decrypt_keystore(p.dump(), pw);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unsupported_kdf);
}

TEST_CASE("keystore: write then read round-trips, 0600, v3 shape", "[wallet][keystore]") {
    test::temp_dir dir;
    const auto file = dir.path() / "sub" / "keystore.json";
    auto key = *private_key::from_hex(hardhat1);
    REQUIRE(write_keystore(file, key, "pw-round-trip", light));
    CHECK(file_mode(file) == 0600u);
    CHECK(file_mode(file.parent_path()) == 0700u);

    const json doc = json::parse(test::read_file(file));
    CHECK(doc["version"] == 3);
    CHECK(doc["address"] == "70997970c51812dc3a010c7d01b50e0d17dc79c8");
    CHECK(std::regex_match(doc["id"].get<std::string>(),
                           std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
    CHECK(doc["crypto"]["cipher"] == "aes-128-ctr");
    CHECK(doc["crypto"]["kdf"] == "scrypt");
    CHECK(doc["crypto"]["kdfparams"]["n"] == 1024);
    CHECK(doc["crypto"]["kdfparams"]["r"] == 8);
    CHECK(doc["crypto"]["kdfparams"]["p"] == 1);
    CHECK(doc["crypto"]["kdfparams"]["dklen"] == 32);
    CHECK(doc["crypto"]["kdfparams"]["salt"].get<std::string>().size() == 64);
    CHECK(doc["crypto"]["cipherparams"]["iv"].get<std::string>().size() == 32);
    CHECK(doc["crypto"]["mac"].get<std::string>().size() == 64);
    // The secret is not in the file in the clear.
    CHECK(test::read_file(file).find(std::string(hardhat1).substr(2)) == std::string::npos);

    auto back = read_keystore(file, "pw-round-trip");
    REQUIRE(back);
    CHECK(back->reveal() == key.reveal());
    CHECK(*keystore_address(file) == key.address());
    auto wrong = read_keystore(file, "pw-round-trip ");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == errc::wrong_password);

    // No temporary files are left behind.
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(file.parent_path())) ++entries;
    CHECK(entries == 1);
}

TEST_CASE("keystore: existing files are not overwritten unless asked", "[wallet][keystore]") {
    test::temp_dir dir;
    const auto file = dir.path() / "keystore.json";
    auto first = *private_key::from_hex(hardhat1);
    auto second = *private_key::generate();
    REQUIRE(write_keystore(file, first, "pw", light));
    const std::string before = test::read_file(file);
    auto again = write_keystore(file, second, "pw", light);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == errc::already_exists);
    CHECK(test::read_file(file) == before);
    REQUIRE(write_keystore(file, second, "pw", light, true));
    CHECK(read_keystore(file, "pw")->address() == second.address());
    CHECK(file_mode(file) == 0600u);
}

TEST_CASE("keystore: the default scrypt cost (n=262144) round-trips", "[wallet][keystore]") {
    auto key = *private_key::generate();
    auto text = encrypt_keystore(key, "default-cost");
    REQUIRE(text);
    const json doc = json::parse(*text);
    CHECK(doc["crypto"]["kdfparams"]["n"] == 262144);
    auto back = decrypt_keystore(*text, "default-cost");
    REQUIRE(back);
    CHECK(back->address() == key.address());
}

TEST_CASE("keystore: unreadable paths give io_error", "[wallet][keystore]") {
    test::temp_dir dir;
    auto r = read_keystore(dir.path() / "missing.json", "pw");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::io_error);
    auto a = keystore_address(dir.path() / "missing.json");
    REQUIRE_FALSE(a);
    CHECK(a.error().code == errc::io_error);
}
