#include "purser/admin/token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cassert>
#include <cctype>
#include <cstdlib>

namespace purser::admin {
namespace {

std::array<std::uint8_t, 32> sha256(std::string_view text) {
    std::array<std::uint8_t, 32> out{};
    unsigned int n = 0;
    // SHA-256 of a string in memory cannot fail short of a broken OpenSSL: fail closed, loudly.
    if (EVP_Digest(text.data(), text.size(), out.data(), &n, EVP_sha256(), nullptr) != 1 ||
        n != out.size()) {
        std::abort();
    }
    return out;
}

}  // namespace

bearer_token::bearer_token(std::string_view secret) : digest_(sha256(secret)) {
    assert(!secret.empty());
}

bool bearer_token::admits(std::string_view authorization) const {
    constexpr std::string_view scheme = "bearer";
    if (authorization.size() <= scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return false;
    }
    std::string_view rest = authorization.substr(scheme.size());
    if (rest.front() != ' ') return false;
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) return false;
    const auto presented = sha256(rest);
    return CRYPTO_memcmp(presented.data(), digest_.data(), digest_.size()) == 0;
}

}  // namespace purser::admin
