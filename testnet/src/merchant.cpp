// Merchant request flow: route, 402 challenge, match `accepted`, facilitator /verify, handler,
// facilitator /settle before the response leaves, payment-response header (x402.md §1, §2).
#include "purser/testnet/merchant.hpp"

#include <chrono>
#include <thread>

#include "merchant_detail.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/testnet/errc.hpp"

namespace purser::testnet {

using nlohmann::json;
using protocol::ojson;

namespace detail {

result<json> call_facilitator(const merchant_config& c, http_connection_pool& connections, const std::string& op,
                              int version, const ojson& payload, const ojson& requirements) {
    ojson body{{"x402Version", version}, {"paymentPayload", payload}, {"paymentRequirements", requirements}};
    http_call_options o;
    o.headers = {{"Content-Type", "application/json"}};
    o.body = body.dump();
    o.pool = &connections;
    auto reply = http_call("POST", c.facilitator_url + "/" + op, o);
    if (!reply) return tl::unexpected(reply.error());
    auto j = json::parse(reply->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || reply->status >= 500) {
        return fail(errc::unavailable, "facilitator " + op + " answered " + std::to_string(reply->status));
    }
    return j;
}

offer_addresses checksummed(const merchant_config& c) {
    return {c.asset.to_checksum(), c.pay_to.to_checksum(), c.receiver_authorizer.to_checksum()};
}

ojson make_offer(const merchant_config& c, const offer_addresses& a, const std::string& scheme,
                 const protocol::uint256& price,
                 const std::string& resource_url, const std::string& description,
                 const std::string& mime_type) {
    ojson extra;
    if (scheme == "batch-settlement") {
        extra["receiverAuthorizer"] = a.receiver_authorizer;
        extra["withdrawDelay"] = c.withdraw_delay;
        // The official server announces a deposit hint on every offer: 10 x the price unless
        // configured (server/scheme.ts resolveMinDepositHint); the client deposits at least it.
        if (auto hint = price.mul(protocol::uint256{10}); hint && !price.is_zero()) {
            extra["minDeposit"] = hint->to_decimal();
        }
    }
    extra["name"] = "USDC";
    extra["version"] = "2";
    ojson o;
    o["scheme"] = scheme;
    if (c.x402_version == 1) {
        o["network"] = protocol::testnet_v1_name;
        o["maxAmountRequired"] = price.to_decimal();
        o["resource"] = resource_url;
        o["description"] = description;
        o["mimeType"] = mime_type;
        o["payTo"] = a.pay_to;
        o["maxTimeoutSeconds"] = c.max_timeout_seconds;
        o["asset"] = a.asset;
        o["extra"] = extra;
        return o;
    }
    o["network"] = protocol::testnet_caip2;
    o["amount"] = price.to_decimal();
    o["asset"] = a.asset;
    o["payTo"] = a.pay_to;
    o["maxTimeoutSeconds"] = c.max_timeout_seconds;
    o["extra"] = extra;
    return o;
}

std::string encode_header(const std::string& json_text) { return protocol::base64_encode(json_text); }

http_response settle_failed_v2(const json& settle_body) {
    return {402,
            {{"Content-Type", "application/json"},
             {"PAYMENT-RESPONSE", encode_header(settle_body.dump())},
             {"Access-Control-Expose-Headers", "PAYMENT-RESPONSE"}},
            "{}",
            {}};
}

}  // namespace detail

namespace {

std::string mime_of(const merchant_route& r) {
    if (r.handler == "stream") return "text/event-stream";
    if (r.handler == "echo") return "application/octet-stream";
    return "application/json";
}

// v2 matching (core findMatchingRequirements): every field but `extra` deep-equal, the same
// set of keys, and the server's extra a subset of the client's.
bool matches(const ojson& offer, const ojson& accepted) {
    if (!accepted.is_object()) return false;
    std::size_t offer_keys = 0;
    for (auto it = offer.begin(); it != offer.end(); ++it) {
        if (it.key() == "extra") continue;
        ++offer_keys;
        auto a = accepted.find(it.key());
        if (a == accepted.end() || *a != it.value()) return false;
    }
    std::size_t accepted_keys = 0;
    for (auto it = accepted.begin(); it != accepted.end(); ++it) {
        if (it.key() != "extra") ++accepted_keys;
    }
    if (accepted_keys != offer_keys) return false;
    auto se = offer.find("extra");
    if (se == offer.end() || se->is_null()) return true;
    auto ae = accepted.find("extra");
    if (ae == accepted.end() || !ae->is_object()) return se->empty();
    for (auto it = se->begin(); it != se->end(); ++it) {
        auto v = ae->find(it.key());
        if (v == ae->end() || *v != it.value()) return false;
    }
    return true;
}

}  // namespace

merchant::merchant(merchant_config config)
    : config_(std::move(config)), addresses_(detail::checksummed(config_)) {}

http_handler merchant::http() {
    return [this](const http_request& req) { return handle(req); };
}

ojson merchant::requirements(const http_request& req, const merchant_route& route) const {
    ojson accepts = ojson::array();
    const std::string host = req.header("host");
    const std::string url = std::string(req.tls ? "https://" : "http://") + host + req.target;
    for (const auto& s : route.schemes) {
        auto offer =
            detail::make_offer(config_, addresses_, s, *route.price, url, route.description, mime_of(route));
        if (route.max_timeout_seconds) offer["maxTimeoutSeconds"] = *route.max_timeout_seconds;
        accepts.push_back(std::move(offer));
    }
    if (route.lie == merchant_lie::many_offers) {
        // The genuine offers go last, behind the bait, so a client that takes the first or the
        // cheapest entry it sees picks something it cannot pay.
        ojson all = detail::unpayable_offers(config_);
        for (auto& o : accepts) all.push_back(std::move(o));
        return all;
    }
    return accepts;
}

http_response merchant::challenge(const http_request& req, const merchant_route& route,
                                  const std::string& error, const ojson& accepts_override) const {
    ojson accepts = accepts_override.is_array() ? accepts_override : requirements(req, route);
    if (config_.x402_version == 1) {
        ojson body{{"x402Version", 1}, {"error", error}, {"accepts", accepts}};
        return {402, {{"Content-Type", "application/json"}}, body.dump(), {}};
    }
    const std::string url = std::string(req.tls ? "https://" : "http://") + req.header("host") + req.target;
    ojson pr;
    pr["x402Version"] = 2;
    pr["error"] = error;
    const std::string description =
        route.lie == merchant_lie::many_offers ? detail::long_description() : route.description;
    pr["resource"] = ojson{{"url", url}, {"description", description}, {"mimeType", mime_of(route)}};
    pr["accepts"] = accepts;
    http_response r{402,
                    {{"Content-Type", "application/json"},
                     {"PAYMENT-REQUIRED", detail::encode_header(pr.dump())},
                     {"Access-Control-Expose-Headers", "PAYMENT-REQUIRED,PAYMENT-RESPONSE"}},
                    "{}",
                    {}};
    if (route.lie == merchant_lie::forged_headers) detail::add_forged_purser_headers(r);
    return r;
}

http_response merchant::run_handler(const http_request& req, const merchant_route& route) const {
    const std::string& h = route.handler;
    if (h == "echo") {
        std::string type = req.header("content-type");
        return {200, {{"Content-Type", type.empty() ? "application/octet-stream" : type}}, req.body, {}};
    }
    if (h == "stream") {
        http_response r{200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}}, {}, {}};
        const auto events = config_.stream_events;
        const auto interval = std::chrono::milliseconds(config_.stream_interval_ms);
        r.stream = [events, interval](const chunk_writer& write) {
            for (std::uint64_t i = 1; i <= events; ++i) {
                if (i > 1) std::this_thread::sleep_for(interval);
                const std::string ev = "event: tick\nid: " + std::to_string(i) + "\ndata: {\"n\":" +
                                       std::to_string(i) + ",\"of\":" + std::to_string(events) + "}\n\n";
                if (!write(ev)) return;
            }
        };
        return r;
    }
    json body;
    if (h == "weather") body = {{"location", "Testnet City"}, {"temperatureC", 21}, {"conditions", "sunny"}};
    else if (h == "premium") body = {{"report", "premium"}, {"insight", "the testnet is calm"}};
    else if (h == "metered") body = {{"metered", true}, {"units", 1}};
    else body = {{"free", true}};
    return {200, {{"Content-Type", "application/json"}}, body.dump(), {}};
}

http_response merchant::handle(const http_request& req) {
    const std::string path = req.path();
    if (path == settle_batches_path) return settle_batches_http(req);
    const merchant_route* found = nullptr;
    bool path_known = false;
    for (const auto& r : config_.routes) {
        if (r.path != path) continue;
        path_known = true;
        if (r.method == req.method) found = &r;
    }
    if (found == nullptr) {
        if (path_known) return {405, {{"Content-Type", "application/json"}}, R"({"error":"method not allowed"})", {}};
        return {404, {{"Content-Type", "application/json"}}, R"({"error":"not found"})", {}};
    }
    if (!found->price) return run_handler(req, *found);
    return paid(req, *found);
}

// The testnet's stand-in for the official server's channel manager (claimAndSettle), which a
// real merchant runs on its own schedule: tests call it when they want the vouchers on chain.
http_response merchant::settle_batches_http(const http_request& req) {
    if (req.method != "POST") {
        return {405, {{"Content-Type", "application/json"}, {"Allow", "POST"}}, R"({"error":"POST only"})", {}};
    }
    auto settled = settle_batches();
    if (!settled) {
        return {502, {{"Content-Type", "application/json"}}, json{{"error", settled.error().detail}}.dump(), {}};
    }
    return {200, {{"Content-Type", "application/json"}}, settled->dump(), {}};
}

http_response merchant::paid(const http_request& req, const merchant_route& route) {
    const int version = config_.x402_version;
    const std::string header = req.header(version == 2 ? "payment-signature" : "x-payment");
    if (header.empty()) return challenge(req, route, version == 2 ? "Payment required" : "X-PAYMENT header is required");
    ojson payload;
    auto decoded = protocol::base64_decode_header(header);
    if (decoded) payload = ojson::parse(*decoded, nullptr, false);
    if (!decoded || payload.is_discarded() || !payload.is_object()) {
        // The v2 TS server logs an undecodable header and treats it as absent.
        return challenge(req, route, version == 2 ? "Payment required" : "invalid payment header");
    }
    auto pv = payload.find("x402Version");
    if (pv == payload.end() || !pv->is_number_integer() || pv->get<int>() != version) {
        return challenge(req, route, "invalid_x402_version");
    }
    const ojson offers = requirements(req, route);
    const ojson* offer = nullptr;
    for (const auto& o : offers) {
        const bool hit = version == 2 ? matches(o, payload.value("accepted", ojson()))
                                      : (payload.value("scheme", "") == o.value("scheme", "") &&
                                         payload.value("network", "") == o.value("network", ""));
        if (hit) {
            offer = &o;
            break;
        }
    }
    if (offer == nullptr) return challenge(req, route, "No matching payment requirements");
    if (route.lie == merchant_lie::payto_switch) return switched_terms(req, route);
    if ((*offer)["scheme"] == "batch-settlement") return batch_payment(req, route, payload, *offer);

    auto verified = detail::call_facilitator(config_, facilitator_connections_, "verify", version, payload, *offer);
    if (!verified) return challenge(req, route, verified.error().detail);
    if (!verified->value("isValid", false)) {
        return challenge(req, route, verified->value("invalidReason", "invalid_payment"));
    }
    http_response response = run_handler(req, route);
    auto settled = detail::call_facilitator(config_, facilitator_connections_, "settle", version, payload, *offer);
    json settle_body = settled ? *settled
                               : json{{"success", false}, {"errorReason", "unexpected_settle_error"},
                                      {"errorMessage", settled.error().detail}, {"transaction", ""},
                                      {"network", (*offer)["network"].get<std::string>()}};
    if (!settle_body.value("success", false)) {
        if (version == 2) return detail::settle_failed_v2(settle_body);
        ojson body{{"x402Version", 1}, {"error", settle_body.value("errorReason", "settle failed")},
                   {"accepts", offers}, {"payer", settle_body.value("payer", "")}};
        return {402, {{"Content-Type", "application/json"}}, body.dump(), {}};
    }
    if (route.lie != merchant_lie::none) {
        return lie_after_settle(req, route, std::move(response), std::move(settle_body));
    }
    const char* name = version == 2 ? "PAYMENT-RESPONSE" : "X-PAYMENT-RESPONSE";
    response.headers.emplace_back(name, detail::encode_header(settle_body.dump()));
    response.headers.emplace_back("Access-Control-Expose-Headers", name);
    return response;
}

}  // namespace purser::testnet
