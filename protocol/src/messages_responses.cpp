// SettleResponse (PAYMENT-RESPONSE / X-PAYMENT-RESPONSE, facilitator /settle) and VerifyResponse.
#include <utility>

#include "messages_json.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/messages.hpp"

namespace purser::protocol {
namespace {

result<settle_response> parse_settle_object(const ojson& root) {
    if (!root.is_object()) return detail::not_an_object(root, "root");
    settle_response r;
    PURSER_TRY(success, detail::required_bool(root, "", "success"));
    r.success = success;
    PURSER_TRY(reason, detail::optional_string(root, "", "errorReason"));
    r.error_reason = reason.value_or("");
    PURSER_TRY(message, detail::optional_string(root, "", "errorMessage"));
    r.error_message = message.value_or("");
    PURSER_TRY(payer, detail::optional_string(root, "", "payer"));
    r.payer = payer.value_or("");
    // Required even on failure, where it is "" (as is a voucher-only batch payment's).
    PURSER_TRY(transaction, detail::required_string(root, "", "transaction"));
    r.transaction = std::move(transaction);
    PURSER_TRY(network, detail::required_string(root, "", "network"));
    r.network = std::move(network);
    // The official batch-settlement server answers a voucher-only payment with "amount":""
    // (@x402/evm 2.27 server/settle.ts): nothing was moved, so it counts as absent.
    const auto amount_field = root.find("amount");
    const bool empty_amount = amount_field != root.end() && amount_field->is_string() &&
                              amount_field->get_ref<const std::string&>().empty();
    if (!empty_amount) {
        PURSER_TRY(amount, detail::optional_amount(root, "", "amount"));
        r.amount = amount;
    }
    PURSER_TRY(extensions, detail::optional_object(root, "", "extensions"));
    r.extensions = std::move(extensions);
    PURSER_TRY(extra, detail::optional_object(root, "", "extra"));
    r.extra = std::move(extra);
    r.raw = root;
    return r;
}

}  // namespace

result<settle_response> parse_settle_response(std::string_view json_text) {
    PURSER_TRY(root, detail::parse_bounded(json_text, max_body_bytes, "settle response"));
    return parse_settle_object(root);
}

result<settle_response> decode_settle_response_header(std::string_view value) {
    PURSER_TRY(root, detail::decode_header_json(value, "PAYMENT-RESPONSE header"));
    return parse_settle_object(root);
}

std::string serialize(const settle_response& r) {
    ojson out = ojson::object();
    out["success"] = r.success;
    if (!r.error_reason.empty()) out["errorReason"] = r.error_reason;
    if (!r.error_message.empty()) out["errorMessage"] = r.error_message;
    if (!r.payer.empty()) out["payer"] = r.payer;
    out["transaction"] = r.transaction;
    out["network"] = r.network;
    if (r.amount) out["amount"] = r.amount->to_decimal();
    if (!r.extensions.is_null()) out["extensions"] = r.extensions;
    if (!r.extra.is_null()) out["extra"] = r.extra;
    return detail::compact(out);
}

std::string encode_settle_response_header(const settle_response& r) {
    return base64_encode(serialize(r));
}

result<verify_response> parse_verify_response(std::string_view json_text) {
    PURSER_TRY(root, detail::parse_bounded(json_text, max_body_bytes, "verify response"));
    if (!root.is_object()) return detail::not_an_object(root, "root");
    verify_response r;
    PURSER_TRY(valid, detail::required_bool(root, "", "isValid"));
    r.is_valid = valid;
    PURSER_TRY(reason, detail::optional_string(root, "", "invalidReason"));
    r.invalid_reason = reason.value_or("");
    PURSER_TRY(message, detail::optional_string(root, "", "invalidMessage"));
    r.invalid_message = message.value_or("");
    PURSER_TRY(payer, detail::optional_string(root, "", "payer"));
    r.payer = payer.value_or("");
    PURSER_TRY(extensions, detail::optional_object(root, "", "extensions"));
    (void)extensions;  // Type-checked; kept in raw.
    PURSER_TRY(extra, detail::optional_object(root, "", "extra"));
    r.extra = std::move(extra);
    r.raw = root;
    return r;
}

std::string serialize(const verify_response& r) {
    ojson out = ojson::object();
    out["isValid"] = r.is_valid;
    if (!r.invalid_reason.empty()) out["invalidReason"] = r.invalid_reason;
    if (!r.invalid_message.empty()) out["invalidMessage"] = r.invalid_message;
    if (!r.payer.empty()) out["payer"] = r.payer;
    if (!r.extra.is_null()) out["extra"] = r.extra;
    return detail::compact(out);
}

}  // namespace purser::protocol
