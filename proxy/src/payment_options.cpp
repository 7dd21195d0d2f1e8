#include "purser/proxy/payment_options.hpp"

#include "purser/protocol/amount.hpp"
#include "purser/protocol/errc.hpp"

namespace purser::proxy {
namespace {

using protocol::errc;
using nlohmann::json;

result<std::uint64_t> positive(const json& v, const std::string& where) {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0)
        return fail(errc::invalid_value, where + ": expected a positive integer");
    return v.get<std::uint64_t>();
}

result<iou_policy> iou_options(const json& j) {
    if (!j.is_object()) return fail(errc::wrong_type, "payment.iou: expected a JSON object");
    iou_policy out;
    for (const auto& [key, value] : j.items()) {
        const std::string where = "payment.iou." + key;
        if (key == "channels") {
            // Channels kept with one merchant, so that concurrent calls pay by voucher at once.
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 ||
                value.get<std::uint64_t>() > 64)
                return fail(errc::invalid_value, where + ": expected an integer from 1 to 64");
            out.channels = static_cast<unsigned>(value.get<std::uint64_t>());
            continue;
        }
        if (key != "deposit" && key != "max_channel" && key != "max_total")
            return fail(errc::invalid_value,
                        where + ": unknown key (expected deposit, max_channel, max_total or channels)");
        if (!value.is_string())
            return fail(errc::wrong_type,
                        where + ": expected an amount as a string, e.g. \"1.00\"");
        // Checked at 18 decimals (as many as any token here has; 77 would overflow a uint256 past
        // 1.15 units); the token's own decimals apply when a channel is funded.
        if (auto v = protocol::parse_units(value.get<std::string>(), 18); !v)
            return fail(errc::invalid_value, where + ": " + v.error().message());
        (key == "deposit" ? out.deposit : key == "max_channel" ? out.max_channel : out.max_total) =
            value.get<std::string>();
    }
    return out;
}

}  // namespace

result<payment_section> parse_payment_section(const json& j,
                                              const protocol::network_registry& registry) {
    payment_section out;
    if (!j.is_object()) return fail(errc::wrong_type, "payment: expected a JSON object");
    for (const auto& [key, value] : j.items()) {
        const std::string where = "payment." + key;
        if (key == "max_window_seconds") {
            PURSER_TRY(n, positive(value, where));
            out.flow.max_window_seconds = n;
        } else if (key == "networks") {
            if (!value.is_array()) return fail(errc::wrong_type, where + ": expected a list");
            for (const auto& n : value) {
                if (!n.is_string()) return fail(errc::wrong_type, where + ": expected strings");
                out.flow.networks.insert(n.get<std::string>());
            }
        } else if (key == "rpc") {
            if (!value.is_object())
                return fail(errc::wrong_type, where + ": expected {\"<network>\": \"<url>\"}");
            for (const auto& [network, url] : value.items()) {
                const std::string at = where + "." + network;
                const auto* net = registry.find(network);
                if (net == nullptr) return fail(errc::invalid_value, at + ": unknown network");
                if (!url.is_string()) return fail(errc::wrong_type, at + ": expected a URL string");
                out.rpc[net->caip2] = url.get<std::string>();
            }
        } else if (key == "proof_interval_ms") {
            PURSER_TRY(n, positive(value, where));
            out.flow.proof_interval_ms = n;
        } else if (key == "skew_margin_seconds") {
            if (!value.is_number_unsigned())
                return fail(errc::invalid_value, where + ": expected an integer");
            out.flow.skew_margin_seconds = value.get<std::uint64_t>();
        } else if (key == "prefer") {
            if (value != "iou" && value != "exact")
                return fail(errc::invalid_value, where + ": expected \"iou\" or \"exact\"");
            out.flow.iou.prefer = value == "iou";
        } else if (key == "iou") {
            PURSER_TRY(iou, iou_options(value));
            iou.prefer = out.flow.iou.prefer;
            out.flow.iou = std::move(iou);
        } else {
            return fail(errc::invalid_value, where + ": unknown key");
        }
    }
    return out;
}

}  // namespace purser::proxy
