// Facilitator routing: x402Version, then requirements.scheme, then network (x402.md §6).
#include "purser/testnet/facilitator.hpp"

#include "facilitator_detail.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/testnet/accounts.hpp"

namespace purser::testnet {
namespace detail {

bool is_our_network(int version, const std::string& network) {
    return version == 1 ? network == protocol::testnet_v1_name : network == protocol::testnet_caip2;
}

std::optional<uint256> to_u256(const json& j) {
    if (j.is_string()) {
        auto v = uint256::from_decimal(j.get<std::string>());
        if (v) return *v;
        return std::nullopt;
    }
    if (j.is_number_unsigned()) return uint256{j.get<std::uint64_t>()};
    return std::nullopt;
}

json settle_failure(const std::string& reason, const std::string& message,
                    const std::string& network, const std::string& payer) {
    json out{{"success", false}, {"errorReason", reason}};
    if (!message.empty()) out["errorMessage"] = message;
    if (!payer.empty()) out["payer"] = payer;
    out["transaction"] = "";
    out["network"] = network;
    return out;
}

}  // namespace detail

namespace {

using nlohmann::json;

struct parsed_request {
    int version = 0;
    json payload;
    json requirements;
    std::string scheme;
    std::string network;
};

// Returns an error reply when the body is unusable.
std::optional<facilitator_reply> parse_request(const json& body, parsed_request& out) {
    if (!body.is_object() || !body.contains("paymentPayload") || !body.contains("paymentRequirements") ||
        !body["paymentPayload"].is_object() || !body["paymentRequirements"].is_object()) {
        return facilitator_reply{400, json{{"error", "paymentPayload and paymentRequirements are required"}}};
    }
    out.payload = body["paymentPayload"];
    out.requirements = body["paymentRequirements"];
    const json& v = out.payload.contains("x402Version") ? out.payload["x402Version"] : body.value("x402Version", json());
    out.version = v.is_number_integer() ? v.get<int>() : 0;
    out.scheme = out.requirements.value("scheme", "");
    out.network = out.requirements.value("network", "");
    return std::nullopt;
}

json verify_body(const detail::check& c) {
    json out{{"isValid", c.ok()}};
    if (!c.ok()) out["invalidReason"] = c.reason;
    if (!c.ok() && !c.message.empty()) out["invalidMessage"] = c.message;
    if (!c.payer.empty()) out["payer"] = c.payer;
    if (!c.extra.is_null()) out["extra"] = c.extra;
    return out;
}

}  // namespace

result<std::unique_ptr<facilitator>> facilitator::create(chain& c, const bytes32& authorizer_key) {
    PURSER_TRY(who, address_of_key(authorizer_key));
    return std::unique_ptr<facilitator>(new facilitator(c, authorizer_key, who));
}

json facilitator::supported() const {
    json kinds = json::array();
    kinds.push_back({{"x402Version", 1}, {"scheme", "exact"}, {"network", protocol::testnet_v1_name}});
    kinds.push_back({{"x402Version", 2}, {"scheme", "exact"}, {"network", protocol::testnet_caip2}});
    kinds.push_back({{"x402Version", 2},
                     {"scheme", "batch-settlement"},
                     {"network", protocol::testnet_caip2},
                     {"extra", {{"receiverAuthorizer", signer_.to_checksum()}}}});
    return json{{"kinds", kinds},
                {"extensions", json::array()},
                {"signers", {{"eip155:*", json::array({signer_.to_checksum()})}}}};
}

facilitator_reply facilitator::verify(const json& body) {
    parsed_request r;
    if (auto bad = parse_request(body, r)) return *bad;
    if (r.version != 1 && r.version != 2) return {200, verify_body(detail::reject("invalid_x402_version"))};
    if (r.scheme == "exact") return {200, verify_body(detail::verify_exact(chain_, r.version, r.payload, r.requirements))};
    if (r.scheme == "batch-settlement" && r.version == 2) {
        return {200, verify_body(detail::verify_batch(chain_, r.payload, r.requirements))};
    }
    return {200, verify_body(detail::reject("unsupported_scheme", "scheme " + r.scheme + " is not supported"))};
}

facilitator_reply facilitator::settle(const json& body) {
    parsed_request r;
    if (auto bad = parse_request(body, r)) return *bad;
    if (r.version != 1 && r.version != 2) return {200, detail::settle_failure("invalid_x402_version", "", r.network, "")};
    if (r.scheme == "exact") return {200, detail::settle_exact(chain_, r.version, r.payload, r.requirements)};
    if (r.scheme == "batch-settlement" && r.version == 2) {
        return {200, detail::settle_batch(chain_, key_, signer_, r.payload, r.requirements)};
    }
    return {200, detail::settle_failure("unsupported_scheme", "scheme " + r.scheme + " is not supported", r.network, "")};
}

http_handler facilitator::http() {
    return [this](const http_request& req) -> http_response {
        auto reply = [](const facilitator_reply& f) {
            return http_response{f.status, {{"Content-Type", "application/json"}}, f.body.dump(), {}};
        };
        const std::string path = req.path();
        if (path == "/supported" && req.method == "GET") return reply({200, supported()});
        if ((path == "/verify" || path == "/settle") && req.method == "POST") {
            auto body = json::parse(req.body, nullptr, false);
            if (body.is_discarded()) return reply({400, json{{"error", "body is not JSON"}}});
            return reply(path == "/verify" ? verify(body) : settle(body));
        }
        return {404, {{"Content-Type", "application/json"}}, R"({"error":"not found"})", {}};
    };
}

}  // namespace purser::testnet
