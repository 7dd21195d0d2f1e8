#include "purser/wallet/keystore.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/keccak.hpp"
#include "purser/protocol/result.hpp"
#include "purser/wallet/errc.hpp"

namespace purser::wallet {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_keystore_bytes = 64 * 1024;
/// scrypt memory we are willing to spend on one unlock; geth's standard needs 256 MiB.
constexpr std::uint64_t max_scrypt_memory = 1ULL << 30;
/// PBKDF2 iterations above this are a denial of service, not security.
constexpr std::uint64_t max_pbkdf2_iterations = 10'000'000;

/// A buffer that wipes itself: derived keys and decrypted secrets live only in these.
class wiped_buffer {
public:
    explicit wiped_buffer(std::size_t n) : data_(n) {}
    ~wiped_buffer() { OPENSSL_cleanse(data_.data(), data_.size()); }
    wiped_buffer(const wiped_buffer&) = delete;
    wiped_buffer& operator=(const wiped_buffer&) = delete;
    std::uint8_t* data() { return data_.data(); }
    [[nodiscard]] const std::uint8_t* data() const { return data_.data(); }
    [[nodiscard]] std::size_t size() const { return data_.size(); }

private:
    std::vector<std::uint8_t> data_;
};

struct kdf_spec {
    enum class kind { scrypt, pbkdf2 } type = kind::scrypt;
    std::uint64_t n = 0, r = 0, p = 0, c = 0;
    std::size_t dklen = 32;
    protocol::bytes salt;
};

result<std::uint64_t> get_uint(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end()) return fail(errc::bad_keystore, std::string("kdfparams.") + key + " missing");
    if (!it->is_number_unsigned()) {
        return fail(errc::bad_keystore, std::string("kdfparams.") + key + " is not a positive integer");
    }
    return it->get<std::uint64_t>();
}

result<protocol::bytes> get_hex(const json& obj, const char* key, const char* where) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) {
        return fail(errc::bad_keystore, std::string(where) + key + " missing or not a string");
    }
    auto b = protocol::from_hex(it->get<std::string>());
    if (!b) return fail(errc::bad_keystore, std::string(where) + key + " is not hex");
    return *b;
}

std::uint64_t scrypt_memory(std::uint64_t n, std::uint64_t r, std::uint64_t p) {
    // OpenSSL allocates 128*r*(n+2) for V plus 128*r*p for B; keep a margin for the rest.
    return 128 * r * (n + 2) + 128 * r * p + (1 << 20);
}

result<void> check_scrypt(std::uint64_t n, std::uint64_t r, std::uint64_t p) {
    if (n < 2 || (n & (n - 1)) != 0) return fail(errc::unsupported_kdf, "scrypt n must be a power of two");
    if (r == 0 || p == 0 || r > 1024 || p > 1024 || n > (1ULL << 24)) {
        return fail(errc::unsupported_kdf, "scrypt parameters out of range");
    }
    if (scrypt_memory(n, r, p) > max_scrypt_memory) {
        return fail(errc::unsupported_kdf, "scrypt parameters need more than 1 GiB");
    }
    return {};
}

result<kdf_spec> parse_kdf(const json& crypto) {
    auto kdf = crypto.find("kdf");
    auto params = crypto.find("kdfparams");
    if (kdf == crypto.end() || !kdf->is_string()) return fail(errc::bad_keystore, "crypto.kdf missing");
    if (params == crypto.end() || !params->is_object()) {
        return fail(errc::bad_keystore, "crypto.kdfparams missing");
    }
    kdf_spec spec;
    PURSER_TRY(dklen, get_uint(*params, "dklen"));
    // The MAC uses bytes 16..32 and AES-128 bytes 0..16, so anything but 32 is not v3.
    if (dklen != 32) return fail(errc::unsupported_kdf, "kdfparams.dklen must be 32");
    spec.dklen = 32;
    PURSER_TRY(salt, get_hex(*params, "salt", "kdfparams."));
    spec.salt = std::move(salt);
    const std::string name = kdf->get<std::string>();
    if (name == "scrypt") {
        spec.type = kdf_spec::kind::scrypt;
        PURSER_TRY(n, get_uint(*params, "n"));
        PURSER_TRY(r, get_uint(*params, "r"));
        PURSER_TRY(p, get_uint(*params, "p"));
        PURSER_CHECK(check_scrypt(n, r, p));
        spec.n = n;
        spec.r = r;
        spec.p = p;
    } else if (name == "pbkdf2") {
        spec.type = kdf_spec::kind::pbkdf2;
        auto prf = params->find("prf");
        if (prf == params->end() || !prf->is_string() || prf->get<std::string>() != "hmac-sha256") {
            return fail(errc::unsupported_kdf, "pbkdf2 prf must be hmac-sha256");
        }
        PURSER_TRY(c, get_uint(*params, "c"));
        if (c == 0 || c > max_pbkdf2_iterations) {
            return fail(errc::unsupported_kdf, "pbkdf2 iteration count out of range");
        }
        spec.c = c;
    } else {
        return fail(errc::unsupported_kdf, "kdf " + name.substr(0, 32) + " is not supported");
    }
    return spec;
}

result<void> derive(const kdf_spec& spec, std::string_view password, wiped_buffer& out) {
    if (spec.type == kdf_spec::kind::scrypt) {
        if (EVP_PBE_scrypt(password.data(), password.size(), spec.salt.data(), spec.salt.size(),
                           spec.n, spec.r, spec.p, scrypt_memory(spec.n, spec.r, spec.p),
                           out.data(), out.size()) != 1) {
            return fail(errc::unsupported_kdf, "EVP_PBE_scrypt failed");
        }
        return {};
    }
    if (password.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        spec.salt.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return fail(errc::unsupported_kdf, "password or salt too long");
    }
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), spec.salt.data(),
                          static_cast<int>(spec.salt.size()), static_cast<int>(spec.c),
                          EVP_sha256(), static_cast<int>(out.size()), out.data()) != 1) {
        return fail(errc::unsupported_kdf, "PKCS5_PBKDF2_HMAC failed");
    }
    return {};
}

/// AES-128-CTR is its own inverse: the same call encrypts and decrypts.
result<void> aes128_ctr(const std::uint8_t* key, const std::uint8_t* iv, const std::uint8_t* in,
                        std::size_t len, std::uint8_t* out) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) return fail(errc::bad_keystore, "EVP_CIPHER_CTX_new");
    int outl = 0;
    int finl = 0;
    const bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key, iv) == 1 &&
                    EVP_EncryptUpdate(ctx, out, &outl, in, static_cast<int>(len)) == 1 &&
                    EVP_EncryptFinal_ex(ctx, out + outl, &finl) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok || static_cast<std::size_t>(outl + finl) != len) {
        return fail(errc::bad_keystore, "aes-128-ctr failed");
    }
    return {};
}

protocol::bytes32 keystore_mac(const wiped_buffer& dk, protocol::byte_view ciphertext) {
    std::vector<std::uint8_t> buf(dk.data() + 16, dk.data() + 32);
    buf.insert(buf.end(), ciphertext.begin(), ciphertext.end());
    auto mac = protocol::keccak256(buf);
    OPENSSL_cleanse(buf.data(), 16);
    return mac;
}

result<std::string> read_small_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(errc::io_error, "cannot open " + file.string() + ": " + std::strerror(errno));
    std::string text;
    text.resize(max_keystore_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (in.bad()) return fail(errc::io_error, "cannot read " + file.string());
    if (got > max_keystore_bytes) return fail(errc::bad_keystore, file.string() + " is larger than 64 KiB");
    text.resize(got);
    return text;
}

result<json> parse_keystore_json(std::string_view text) {
    if (text.size() > max_keystore_bytes) return fail(errc::bad_keystore, "larger than 64 KiB");
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return fail(errc::bad_keystore, "not a JSON object");
    return doc;
}

std::string uuid_v4(const std::array<std::uint8_t, 16>& r) {
    std::array<std::uint8_t, 16> b = r;
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    const std::string h = protocol::to_hex(b, false);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

std::string errno_text() { return std::strerror(errno); }

result<void> sync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(errc::io_error, "open " + dir.string() + ": " + errno_text());
    const int rc = ::fsync(fd);
    const std::string why = rc != 0 ? errno_text() : std::string();
    ::close(fd);
    if (rc != 0) return fail(errc::io_error, "fsync " + dir.string() + ": " + why);
    return {};
}

}  // namespace

result<private_key> decrypt_keystore(std::string_view json_text, std::string_view password) {
    PURSER_TRY(doc, parse_keystore_json(json_text));
    auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_integer() ||
        version->get<std::int64_t>() != 3) {
        return fail(errc::bad_keystore, "version must be 3");
    }
    auto crypto = doc.find("crypto");
    if (crypto == doc.end()) crypto = doc.find("Crypto");  // geth once wrote it capitalised
    if (crypto == doc.end() || !crypto->is_object()) return fail(errc::bad_keystore, "crypto missing");

    auto cipher = crypto->find("cipher");
    if (cipher == crypto->end() || !cipher->is_string()) {
        return fail(errc::bad_keystore, "crypto.cipher missing");
    }
    if (cipher->get<std::string>() != "aes-128-ctr") {
        return fail(errc::unsupported_kdf, "cipher must be aes-128-ctr");
    }
    auto cparams = crypto->find("cipherparams");
    if (cparams == crypto->end() || !cparams->is_object()) {
        return fail(errc::bad_keystore, "crypto.cipherparams missing");
    }
    PURSER_TRY(iv, get_hex(*cparams, "iv", "cipherparams."));
    if (iv.size() != 16) return fail(errc::bad_keystore, "cipherparams.iv must be 16 bytes");
    PURSER_TRY(ciphertext, get_hex(*crypto, "ciphertext", "crypto."));
    if (ciphertext.size() != 32) return fail(errc::bad_keystore, "ciphertext must be 32 bytes");
    PURSER_TRY(mac, get_hex(*crypto, "mac", "crypto."));
    if (mac.size() != 32) return fail(errc::bad_keystore, "mac must be 32 bytes");
    PURSER_TRY(spec, parse_kdf(*crypto));

    wiped_buffer dk(spec.dklen);
    PURSER_CHECK(derive(spec, password, dk));
    const auto expected = keystore_mac(dk, ciphertext);
    if (CRYPTO_memcmp(expected.data(), mac.data(), expected.size()) != 0) {
        return fail(errc::wrong_password, "the keystore MAC does not match (wrong password?)");
    }
    wiped_buffer plain(32);
    PURSER_CHECK(aes128_ctr(dk.data(), iv.data(), ciphertext.data(), 32, plain.data()));
    auto key = private_key::from_bytes(protocol::byte_view(plain.data(), plain.size()));
    if (!key) return fail(errc::bad_keystore, "the decrypted key is not a valid secp256k1 key");

    if (auto a = doc.find("address"); a != doc.end() && a->is_string()) {
        std::string text = a->get<std::string>();
        if (text.rfind("0x", 0) != 0 && text.rfind("0X", 0) != 0) text = "0x" + text;
        auto recorded = protocol::address::parse(text);
        if (!recorded) {
            // Lowercase everything after the prefix: the field is not checksummed in v3.
            for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            text[1] = 'x';
            recorded = protocol::address::parse(text);
        }
        if (!recorded) return fail(errc::bad_keystore, "address field is not an address");
        if (*recorded != key->address()) {
            return fail(errc::bad_keystore, "the decrypted key does not match the address field");
        }
    }
    return std::move(*key);
}

result<std::string> encrypt_keystore(const private_key& key, std::string_view password,
                                     const scrypt_params& params) {
    PURSER_CHECK(check_scrypt(params.n, params.r, params.p));
    std::array<std::uint8_t, 32> salt{};
    std::array<std::uint8_t, 16> iv{};
    std::array<std::uint8_t, 16> id{};
    PURSER_CHECK(random_bytes(salt.data(), salt.size()));
    PURSER_CHECK(random_bytes(iv.data(), iv.size()));
    PURSER_CHECK(random_bytes(id.data(), id.size()));

    kdf_spec spec;
    spec.type = kdf_spec::kind::scrypt;
    spec.n = params.n;
    spec.r = params.r;
    spec.p = params.p;
    spec.salt.assign(salt.begin(), salt.end());
    wiped_buffer dk(32);
    PURSER_CHECK(derive(spec, password, dk));
    std::array<std::uint8_t, 32> ciphertext{};
    PURSER_CHECK(aes128_ctr(dk.data(), iv.data(), key.reveal().data(), 32, ciphertext.data()));
    const auto mac = keystore_mac(dk, ciphertext);

    nlohmann::ordered_json doc;
    doc["address"] = key.address().to_lower().substr(2);
    doc["crypto"] = {
        {"cipher", "aes-128-ctr"},
        {"cipherparams", {{"iv", protocol::to_hex(iv, false)}}},
        {"ciphertext", protocol::to_hex(ciphertext, false)},
        {"kdf", "scrypt"},
        {"kdfparams",
         {{"dklen", 32},
          {"n", params.n},
          {"p", params.p},
          {"r", params.r},
          {"salt", protocol::to_hex(salt, false)}}},
        {"mac", protocol::to_hex(mac, false)},
    };
    doc["id"] = uuid_v4(id);
    doc["version"] = 3;
    return doc.dump();
}

result<private_key> read_keystore(const std::filesystem::path& file, std::string_view password) {
    PURSER_TRY(text, read_small_file(file));
    return decrypt_keystore(text, password);
}

result<void> write_keystore(const std::filesystem::path& file, const private_key& key,
                            std::string_view password, const scrypt_params& params,
                            bool overwrite) {
    std::error_code ec;
    if (!overwrite && std::filesystem::exists(file, ec)) {
        return fail(errc::already_exists, file.string() + " exists; refusing to overwrite a key");
    }
    PURSER_TRY(text, encrypt_keystore(key, password, params));

    const std::filesystem::path abs = std::filesystem::absolute(file, ec);
    if (ec) return fail(errc::io_error, "cannot resolve " + file.string());
    const std::filesystem::path dir = abs.parent_path();
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) return fail(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }

    // mkstemp creates the file 0600 and O_EXCL, in the target directory so rename is atomic.
    std::string tmpl = (dir / ("." + abs.filename().string() + ".tmp-XXXXXX")).string();
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return fail(errc::io_error, "cannot create a file in " + dir.string() + ": " + errno_text());
    auto cleanup = [&](std::string why) {
        ::close(fd);
        ::unlink(tmpl.c_str());
        return fail(errc::io_error, std::move(why));
    };
    if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) return cleanup("fchmod: " + errno_text());
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return cleanup("write " + tmpl + ": " + errno_text());
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return cleanup("fsync " + tmpl + ": " + errno_text());
    if (::close(fd) != 0) {
        ::unlink(tmpl.c_str());
        return fail(errc::io_error, "close " + tmpl + ": " + errno_text());
    }
    if (!overwrite && std::filesystem::exists(abs, ec)) {
        ::unlink(tmpl.c_str());
        return fail(errc::already_exists, file.string() + " exists; refusing to overwrite a key");
    }
    if (::rename(tmpl.c_str(), abs.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(tmpl.c_str());
        return fail(errc::io_error, "rename to " + abs.string() + ": " + why);
    }
    return sync_directory(dir);
}

result<protocol::address> keystore_address(const std::filesystem::path& file) {
    PURSER_TRY(text, read_small_file(file));
    PURSER_TRY(doc, parse_keystore_json(text));
    auto a = doc.find("address");
    if (a == doc.end() || !a->is_string()) return fail(errc::bad_keystore, "no address field");
    std::string s = a->get<std::string>();
    if (s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0) s = s.substr(2);
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto parsed = protocol::address::parse("0x" + s);
    if (!parsed) return fail(errc::bad_keystore, "address field is not an address");
    return *parsed;
}

}  // namespace purser::wallet
