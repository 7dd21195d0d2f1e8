// PaymentRequired (v1 body / v2 PAYMENT-REQUIRED header) and how a client reads a 402.
#include <utility>

#include "messages_json.hpp"
#include "networks_detail.hpp"
#include "purser/protocol/address.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/messages.hpp"

namespace purser::protocol {
namespace {

using detail::member;

result<void> check_address(const std::string& text, const std::string& path) {
    auto a = address::parse(text);
    if (!a) return fail(errc::invalid_address, path + ": " + a.error().detail);
    return {};
}

}  // namespace

namespace detail {

// Shared with the payload parser, which checks a v2 `accepted` the same way.
result<payment_requirements> parse_requirements(const ojson& entry, int version,
                                                const std::string& path) {
    if (!entry.is_object()) {
        return fail(errc::wrong_type, path + ": expected an object, got " +
                                          std::string(entry.type_name()));
    }
    payment_requirements r;
    r.x402_version = version;
    PURSER_TRY(scheme, required_string(entry, path, "scheme"));
    if (scheme.empty()) return fail(errc::invalid_value, path + ".scheme: must not be empty");
    r.scheme = std::move(scheme);

    PURSER_TRY(network, required_string(entry, path, "network"));
    if (network.empty()) return fail(errc::invalid_value, path + ".network: must not be empty");
    if (version == 2 && network.find(':') == std::string::npos) {
        return fail(errc::invalid_value,
                    path + ".network: \"" + network.substr(0, 80) +
                        "\" is not a CAIP-2 id (v2 needs e.g. \"eip155:8453\")");
    }
    r.network = std::move(network);

    PURSER_TRY(amount, required_amount(entry, path, version == 1 ? "maxAmountRequired" : "amount"));
    r.amount = amount;
    PURSER_TRY(asset, required_string(entry, path, "asset"));
    r.asset = std::move(asset);
    PURSER_TRY(pay_to, required_string(entry, path, "payTo"));
    r.pay_to = std::move(pay_to);
    PURSER_TRY(timeout, positive_integer(entry, path, "maxTimeoutSeconds"));
    r.max_timeout_seconds = timeout;
    PURSER_TRY(extra, optional_object(entry, path, "extra"));
    r.extra = std::move(extra);

    if (version == 1) {
        PURSER_TRY(resource, required_string(entry, path, "resource"));
        r.resource = std::move(resource);
        // Required by the v1 schema, though it may be "".
        PURSER_TRY(description, required_string(entry, path, "description"));
        r.description = std::move(description);
        PURSER_TRY(mime, optional_string(entry, path, "mimeType"));
        r.mime_type = mime.value_or("");
        PURSER_TRY(output_schema, optional_object(entry, path, "outputSchema"));
        (void)output_schema;  // Only its type is checked; it stays in raw.
    }

    if (is_evm_network(r.network)) {
        if (auto ok = check_address(r.pay_to, path + ".payTo"); !ok) return tl::unexpected(ok.error());
        if (auto ok = check_address(r.asset, path + ".asset"); !ok) return tl::unexpected(ok.error());
    }
    r.raw = entry;
    return r;
}

}  // namespace detail

namespace {

result<resource_info> parse_resource(const ojson& obj) {
    resource_info info;
    PURSER_TRY(url, detail::required_string(obj, "resource", "url"));
    if (url.empty()) return fail(errc::invalid_value, "resource.url: must not be empty");
    info.url = std::move(url);
    PURSER_TRY(description, detail::optional_string(obj, "resource", "description"));
    info.description = description.value_or("");
    PURSER_TRY(mime, detail::optional_string(obj, "resource", "mimeType"));
    info.mime_type = mime.value_or("");
    info.raw = obj;
    return info;
}

result<payment_required> parse_required_object(const ojson& root) {
    if (!root.is_object()) return detail::not_an_object(root, "root");
    payment_required out;
    PURSER_TRY(version, detail::x402_version(root, ""));
    out.x402_version = version;
    PURSER_TRY(error_text, detail::optional_string(root, "", "error"));
    out.error = error_text.value_or("");

    if (version == 2) {
        // The v2 schema lists `resource` as required, but nothing breaks without it (the echo just
        // omits it), so a server that leaves it out still gets paid; when given it must be valid.
        PURSER_TRY(resource, detail::optional_object(root, "", "resource"));
        if (!resource.is_null()) {
            PURSER_TRY(info, parse_resource(resource));
            out.resource = std::move(info);
        }
        PURSER_TRY(extensions, detail::optional_object(root, "", "extensions"));
        out.extensions = std::move(extensions);
    }

    const ojson* accepts = member(root, "accepts");
    if (accepts == nullptr) return fail(errc::missing_field, "accepts: required");
    if (!accepts->is_array()) {
        return fail(errc::wrong_type,
                    std::string("accepts: expected an array, got ") + accepts->type_name());
    }
    if (accepts->empty()) return fail(errc::empty_accepts, "accepts: the array is empty");
    out.accepts.reserve(accepts->size());
    for (std::size_t i = 0; i < accepts->size(); ++i) {
        PURSER_TRY(req, detail::parse_requirements((*accepts)[i], version,
                                                   "accepts[" + std::to_string(i) + "]"));
        out.accepts.push_back(std::move(req));
    }
    out.raw = root;
    return out;
}

}  // namespace

result<payment_required> parse_payment_required(std::string_view json_text) {
    PURSER_TRY(root, detail::parse_bounded(json_text, max_body_bytes, "payment required"));
    return parse_required_object(root);
}

result<payment_required> decode_payment_required_header(std::string_view value) {
    PURSER_TRY(root, detail::decode_header_json(value, "PAYMENT-REQUIRED header"));
    PURSER_TRY(required, parse_required_object(root));
    if (required.x402_version != 2) {
        return fail(errc::unsupported_version,
                    "PAYMENT-REQUIRED header: x402Version " +
                        std::to_string(required.x402_version) + " (the header is v2 only)");
    }
    return required;
}

result<payment_required> read_payment_required(
    std::optional<std::string_view> payment_required_header, std::string_view body) {
    // Like the official client, an empty header counts as absent (it tests the value's truthiness).
    if (payment_required_header && !payment_required_header->empty()) {
        return decode_payment_required_header(*payment_required_header);
    }
    if (body.empty()) {
        return fail(errc::missing_field,
                    "PAYMENT-REQUIRED header: absent, and the 402 body is empty");
    }
    PURSER_TRY(root, detail::parse_bounded(body, max_body_bytes, "402 body"));
    if (!root.is_object()) return detail::not_an_object(root, "402 body");
    const ojson* version = member(root, "x402Version");
    if (version == nullptr) {
        return fail(errc::missing_field,
                    "PAYMENT-REQUIRED header: absent, and the 402 body has no x402Version");
    }
    if (version->is_number_unsigned() && version->is_number_unsigned() && version->get<std::uint64_t>() == 2) {
        return fail(errc::missing_field,
                    "PAYMENT-REQUIRED header: absent; a v2 402 carries its terms in that header, "
                    "and a v2 JSON body alone is not accepted");
    }
    return parse_required_object(root);
}

}  // namespace purser::protocol
