// The body of each fuzz target, shared by the libFuzzer entry points (fuzz/*_fuzzer.cpp) and the
// Catch2 test that replays the seeds and every saved crasher (tests/protocol/fuzz_replay_test.cpp).
// Each returns false when a round-trip invariant breaks; the fuzzers abort on that, so libFuzzer
// saves the input. Crashes (ASan/UBSan) are caught by the sanitizers themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/escrow_calls.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/rlp.hpp"
#include "purser/protocol/select.hpp"
#include "purser/protocol/url.hpp"

namespace purser::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// Input: "<PAYMENT-REQUIRED header value>\n<402 body>"; an empty first line means no header.
/// A first line "!<json>" is base64-encoded by the harness, so the fuzzer can mutate the v2 JSON
/// inside the header rather than only its base64.
/// A parsed 402 must select without trouble, and the payload built from each offer must decode.
inline bool payment_required_target(const std::uint8_t* data, std::size_t size) {
    using namespace purser::protocol;
    const std::string_view input = as_text(data, size);
    const std::size_t newline = input.find('\n');
    std::optional<std::string_view> header;
    std::string encoded;
    std::string_view body = input;
    if (newline != std::string_view::npos) {
        if (newline > 0) header = input.substr(0, newline);
        body = input.substr(newline + 1);
    }
    if (header && header->front() == '!') {
        encoded = base64_encode(header->substr(1));
        header = encoded;
    }
    auto required = read_payment_required(header, body);
    if (!required) return !required.error().detail.empty();
    if (required->accepts.empty()) return false;

    static const network_registry registry = network_registry::builtin();
    payment_capabilities caps;
    caps.schemes = {"exact", "upto", "batch-settlement"};
    const selection chosen = select_offers(*required, caps, registry);
    if (chosen.candidates.size() + chosen.rejected.size() != required->accepts.size()) return false;
    for (std::size_t i = 1; i < chosen.candidates.size(); ++i) {
        if (chosen.candidates[i].index == chosen.candidates[i - 1].index) return false;
    }

    for (const auto& offer : required->accepts) {
        auto payload = make_payment_payload(*required, offer, ojson::object());
        auto back = decode_payment_header(encode_payment_header(payload));
        if (!back) return false;
        if (back->x402_version != required->x402_version || back->scheme != offer.scheme ||
            back->network != offer.network) {
            return false;
        }
        if (required->x402_version == 2 && back->accepted.dump() != offer.raw.dump()) return false;
    }
    return true;
}

/// Input: an X-PAYMENT / PAYMENT-SIGNATURE value, also tried as raw payload JSON. A decoded
/// payload re-serialises to something that decodes to the same fields.
inline bool payment_header_target(const std::uint8_t* data, std::size_t size) {
    using namespace purser::protocol;
    const std::string_view input = as_text(data, size);
    for (int as_json = 0; as_json < 2; ++as_json) {
        auto p = as_json ? parse_payment_payload(input) : decode_payment_header(input);
        if (!p) {
            if (p.error().detail.empty()) return false;
            continue;
        }
        auto again = parse_payment_payload(serialize(*p));
        if (!again) return false;
        if (again->x402_version != p->x402_version || again->scheme != p->scheme ||
            again->network != p->network || again->payload.dump() != p->payload.dump()) {
            return false;
        }
    }
    return true;
}

/// Input: a PAYMENT-RESPONSE value, also tried as settle and verify JSON bodies. Serialising a
/// parsed response and parsing it again gives the same fields.
inline bool settle_response_target(const std::uint8_t* data, std::size_t size) {
    using namespace purser::protocol;
    const std::string_view input = as_text(data, size);
    for (int as_json = 0; as_json < 2; ++as_json) {
        auto r = as_json ? parse_settle_response(input) : decode_settle_response_header(input);
        if (!r) {
            if (r.error().detail.empty()) return false;
            continue;
        }
        auto again = decode_settle_response_header(encode_settle_response_header(*r));
        if (!again) return false;
        if (again->success != r->success || again->transaction != r->transaction ||
            again->network != r->network || again->payer != r->payer ||
            again->error_reason != r->error_reason || again->amount != r->amount) {
            return false;
        }
    }
    auto v = parse_verify_response(input);
    if (v) {
        auto again = parse_verify_response(serialize(*v));
        if (!again || again->is_valid != v->is_valid || again->payer != v->payer) return false;
    }
    return true;
}

/// Input: a host, authority or URL as an agent's request line carries it. A canonical host is a
/// fixed point and matches itself as a pattern; a parsed URL, written back from its parts, parses
/// to the same parts (so the proxy that connects and the policy that decides see one host).
inline bool url_target(const std::uint8_t* data, std::size_t size) {
    using namespace purser::protocol;
    const std::string_view input = as_text(data, size);
    if (auto host = canonical_host(input)) {
        auto again = canonical_host(*host);
        if (!again || *again != *host) return false;
        if (!host_pattern_matches(*host, *host)) return false;
    } else if (host.error().detail.empty()) {
        return false;
    }
    if (auto a = parse_authority(input)) {
        auto h = canonical_host(a->host);
        if (!h || *h != a->host) return false;
    }
    for (const char* scheme : {"", "http://"}) {
        auto u = parse_url(std::string(scheme) + std::string(input));
        if (!u) continue;
        auto back = parse_url(u->scheme + "://" + u->authority() + u->target);
        if (!back || back->host != u->host || back->port != u->port ||
            back->target != u->target || back->scheme != u->scheme) {
            return false;
        }
    }
    return true;
}

/// An RLP item written back from its decoded form.
inline protocol::bytes reencode(const protocol::rlp::item& it) {
    if (!it.is_list) return protocol::rlp::encode_string(it.data);
    std::vector<protocol::bytes> items;
    for (const auto& child : it.items) items.push_back(reencode(child));
    return protocol::rlp::encode_list(items);
}

/// Input: one selector byte, then bytes the testnet chain reads from a raw transaction:
/// 0 = RLP, 1 = escrow call data, 2 = the ERC-3009 collector's data. The decoders accept only
/// canonical forms, so whatever they accept must encode back to exactly the input: two
/// encodings of one transaction would be two hashes for one signature.
inline bool chain_bytes_target(const std::uint8_t* data, std::size_t size) {
    using namespace purser::protocol;
    if (size == 0) return true;
    const byte_view input(data + 1, size - 1);
    const bytes original(input.begin(), input.end());
    switch (data[0] % 3) {
        case 0: {
            auto it = rlp::decode(input);
            if (!it) return true;
            if (reencode(*it) != original) return false;
            if (!it->is_list) {
                if (auto v = rlp::to_uint(*it); v && rlp::encode_uint(*v) != original) return false;
            }
            return true;
        }
        case 1: {
            auto c = escrow::decode_call(input);
            if (!c) return true;
            switch (c->kind) {
                case escrow::call_kind::deposit:
                    return escrow::encode_deposit(c->config, c->amount, c->collector, c->collector_data) == original;
                case escrow::call_kind::initiate_withdraw:
                    return escrow::encode_initiate_withdraw(c->config, c->amount) == original;
                case escrow::call_kind::finalize_withdraw:
                    return escrow::encode_finalize_withdraw(c->config) == original;
            }
            return false;
        }
        default: {
            auto d = escrow::decode_collector_data(input);
            return !d || escrow::encode_collector_data(*d) == original;
        }
    }
}

}  // namespace purser::fuzz
