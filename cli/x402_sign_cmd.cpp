// purser x402 sign | verify: sign an exact payment for a 402's terms, or check a signed one.
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

#include "command_table.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/wallet/errc.hpp"
#include "purser/wallet/exact.hpp"
#include "wallet_unlock.hpp"

namespace purser::cli {
namespace {


result<std::string> read_text_file(const std::string& path, std::size_t limit) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(protocol::errc::invalid_value, "cannot read " + path);
    std::string text(limit + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) return fail(protocol::errc::too_large, path + " is too large");
    return text;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
    return s;
}

result<protocol::payment_required> load_requirements(const std::string& path) {
    PURSER_TRY(text, read_text_file(path, protocol::max_body_bytes));
    const auto t = trim(text);
    if (!t.empty() && t.front() == '{') return protocol::parse_payment_required(t);
    return protocol::decode_payment_required_header(t);
}

result<std::uint64_t> seconds_opt(const options& opts, const std::string& name) {
    auto v = protocol::uint256::from_decimal(*opts.get(name));
    if (!v || !v->fits_bits(63)) {
        return fail(protocol::errc::invalid_value, "--" + name + " must be unix seconds (a decimal integer)");
    }
    return v->low64();
}

}  // namespace

int x402_sign_command(const words& args) {
    int rc = 0;
    auto opts = parse_command("x402 sign", args, rc);
    if (!opts) return rc;
    auto req_path = opts->get("requirements");
    if (!req_path) {
        std::cerr << help_text(*find_command("x402 sign"));
        return report("--requirements FILE is required", 2);
    }
    auto required = load_requirements(*req_path);
    if (!required) return report(required.error());
    if (auto ver = opts->get("x402-version")) {
        if (*ver != "1" && *ver != "2") return report("--x402-version must be 1 or 2", 2);
        if (std::stoi(*ver) != required->x402_version) {
            return report(*req_path + " holds x402 version " + std::to_string(required->x402_version) +
                          " terms, not version " + *ver + "; a payment answers in the 402's version");
        }
    }
    wallet::exact_options eo;
    for (const auto& [name, slot] : {std::pair{"valid-after", &eo.valid_after},
                                     std::pair{"valid-before", &eo.valid_before}, std::pair{"now", &eo.now}}) {
        if (opts->has(name)) {
            auto s = seconds_opt(*opts, name);
            if (!s) return report(s.error(), 2);
            *slot = *s;
        }
    }
    if (opts->has("max-window")) {
        auto s = seconds_opt(*opts, "max-window");
        if (!s || *s == 0) return report("--max-window must be a positive number of seconds", 2);
        eo.max_window_seconds = *s;
    }
    if (auto n = opts->get("nonce")) {
        auto nonce = protocol::bytes32_from_hex(*n);
        if (!nonce) return report("--nonce must be 0x followed by 64 hex digits", 2);
        eo.nonce = *nonce;
    }
    const auto registry = protocol::network_registry::builtin();
    eo.registry = &registry;

    // The first offer, in the server's order, that the exact signer can handle (as the
    // official client's default selector picks the first entry it supports).
    const protocol::payment_requirements* chosen = nullptr;
    std::string reasons;
    for (std::size_t i = 0; i < required->accepts.size(); ++i) {
        const auto& offer = required->accepts[i];
        std::string why;
        if (offer.scheme != "exact") {
            why = "scheme " + offer.scheme + " not supported";
        } else if (auto d = wallet::offer_token_domain(offer, registry); !d) {
            why = d.error().detail;
        } else if (!protocol::address::parse(offer.pay_to)) {
            why = "payTo is not an address";
        } else {
            chosen = &offer;
            break;
        }
        reasons += "\n  accepts[" + std::to_string(i) + "]: " + why;
    }
    if (chosen == nullptr) return report("no offer can be paid with the exact scheme:" + reasons);

    auto key = unlock_key(*opts);
    if (!key) return report(key.error());
    wallet::local_signer signer(std::move(*key));
    auto paid = wallet::sign_exact(signer, *required, *chosen, eo);
    if (!paid) return report(paid.error());
    std::cerr << paid->header_name << " for " << paid->amount.to_decimal() << " atomic units of "
              << paid->asset.to_checksum() << " on " << paid->network << " to " << paid->pay_to.to_checksum()
              << ", valid until " << paid->valid_before << "\n";
    std::cout << paid->header_value << "\n";
    return 0;
}

int x402_verify_command(const words& args) {
    int rc = 0;
    auto opts = parse_command("x402 verify", args, rc);
    if (!opts) return rc;
    if (opts->has("header") == opts->has("file")) {
        std::cerr << help_text(*find_command("x402 verify"));
        return report("give exactly one of --header VALUE or --file F", 2);
    }
    std::string value;
    if (auto h = opts->get("header")) {
        value = *h;
    } else {
        auto text = read_text_file(*opts->get("file"), protocol::max_header_bytes);
        if (!text) return report(text.error());
        value = *text;
    }
    std::string_view v = trim(value);
    // Accept a pasted "Name: value" line too.
    for (std::string_view name : {"PAYMENT-SIGNATURE:", "X-PAYMENT:"}) {
        if (v.size() > name.size() && std::equal(name.begin(), name.end(), v.begin(), [](char a, char b) {
                return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
            })) {
            v = trim(v.substr(name.size()));
        }
    }
    auto payload = protocol::decode_payment_header(v);
    if (!payload) return report(payload.error());
    if (payload->scheme != "exact") return report("only exact payments can be verified, not " + payload->scheme);

    const auto registry = protocol::network_registry::builtin();
    std::optional<protocol::payment_required> required;
    const protocol::payment_requirements* offer = nullptr;
    if (auto r = opts->get("requirements")) {
        auto loaded = load_requirements(*r);
        if (!loaded) return report(loaded.error());
        required = std::move(*loaded);
        for (const auto& o : required->accepts) {
            const bool same = payload->x402_version == 2
                                  ? o.raw == payload->accepted
                                  : (o.scheme == payload->scheme && o.network == payload->network);
            if (same) {
                offer = &o;
                break;
            }
        }
        if (offer == nullptr) return report("no offer in " + *r + " matches the payment");
    }
    auto check = wallet::check_exact_payload(*payload, offer, registry);
    if (!check) return report(check.error());
    const auto& a = check->authorization;
    std::cout << "x402Version: " << payload->x402_version << "\n"
              << "network:     " << payload->network << " (chain " << check->domain.chain_id << ")\n"
              << "domain:      " << check->domain.name << " " << check->domain.version << " "
              << check->domain.verifying_contract.to_checksum() << "\n"
              << "from:        " << a.from.to_checksum() << "\n"
              << "to:          " << a.to.to_checksum() << "\n"
              << "value:       " << a.value.to_decimal() << "\n"
              << "validAfter:  " << a.valid_after.to_decimal() << "\n"
              << "validBefore: " << a.valid_before.to_decimal() << "\n"
              << "nonce:       " << protocol::to_hex(a.nonce) << "\n"
              << "digest:      " << protocol::to_hex(check->digest) << "\n"
              << "recovered:   " << check->recovered.to_checksum() << "\n"
              << "signature:   "
              << (check->signer_matches ? "valid (recovers to authorization.from)"
                                        : "INVALID (does not recover to authorization.from)")
              << "\n";
    return check->signer_matches ? 0 : 1;
}

}  // namespace purser::cli
