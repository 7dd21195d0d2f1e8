// PaymentPayload: building the client's answer (echoing the server's objects verbatim), its
// wire form, and parsing one back (servers, tests, `purser x402 decode`).
#include <utility>

#include "messages_json.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/messages.hpp"

namespace purser::protocol {

payment_payload make_payment_payload(const payment_required& required,
                                     const payment_requirements& offer, ojson scheme_payload) {
    payment_payload p;
    // The client answers in the version of the 402 it received (x402.md §1).
    p.x402_version = required.x402_version;
    p.scheme = offer.scheme;
    p.network = offer.network;
    p.payload = std::move(scheme_payload);
    if (p.x402_version == 2) {
        // Servers match `accepted` by deep equality on every field but `extra`, so it must be the
        // received object itself (unknown keys, nulls and key order included), not a rebuild.
        p.accepted = offer.raw;
        if (required.resource) p.resource = required.resource->raw;
        if (!required.extensions.is_null()) p.extensions = required.extensions;
    }
    return p;
}

std::string serialize(const payment_payload& p) {
    ojson out = ojson::object();
    if (p.x402_version == 1) {
        out["x402Version"] = 1;
        out["scheme"] = p.scheme;
        out["network"] = p.network;
        out["payload"] = p.payload;
        return detail::compact(out);
    }
    // The official client's order (x402Client.createPaymentPayload), not the spec examples'.
    out["x402Version"] = p.x402_version;
    out["payload"] = p.payload;
    if (!p.extensions.is_null()) out["extensions"] = p.extensions;
    if (!p.resource.is_null()) out["resource"] = p.resource;
    out["accepted"] = p.accepted;
    return detail::compact(out);
}

std::string encode_payment_header(const payment_payload& p) { return base64_encode(serialize(p)); }

std::string_view payment_header_name(int x402_version) {
    return x402_version == 1 ? "X-PAYMENT" : "PAYMENT-SIGNATURE";
}

namespace {

result<payment_payload> parse_payload_object(const ojson& root) {
    if (!root.is_object()) return detail::not_an_object(root, "root");
    payment_payload p;
    PURSER_TRY(version, detail::x402_version(root, ""));
    p.x402_version = version;
    PURSER_TRY(payload, detail::required_object(root, "", "payload"));
    p.payload = std::move(payload);
    if (version == 1) {
        PURSER_TRY(scheme, detail::required_string(root, "", "scheme"));
        PURSER_TRY(network, detail::required_string(root, "", "network"));
        p.scheme = std::move(scheme);
        p.network = std::move(network);
    } else {
        PURSER_TRY(accepted, detail::required_object(root, "", "accepted"));
        // Checked like an offer, so a server learns early that the echo cannot match anything.
        PURSER_TRY(offer, detail::parse_requirements(accepted, 2, "accepted"));
        p.scheme = offer.scheme;
        p.network = offer.network;
        p.accepted = std::move(accepted);
        PURSER_TRY(resource, detail::optional_object(root, "", "resource"));
        if (!resource.is_null()) {
            PURSER_TRY(url, detail::required_string(resource, "resource", "url"));
            (void)url;
        }
        p.resource = std::move(resource);
        PURSER_TRY(extensions, detail::optional_object(root, "", "extensions"));
        p.extensions = std::move(extensions);
    }
    p.raw = root;
    return p;
}

}  // namespace

result<payment_payload> parse_payment_payload(std::string_view json_text) {
    PURSER_TRY(root, detail::parse_bounded(json_text, max_header_bytes, "payment payload"));
    return parse_payload_object(root);
}

result<payment_payload> decode_payment_header(std::string_view value) {
    PURSER_TRY(root, detail::decode_header_json(value, "payment header"));
    return parse_payload_object(root);
}

}  // namespace purser::protocol
