// The merchant's JSON configuration and its default routes.
#include "purser/protocol/networks.hpp"
#include "purser/testnet/errc.hpp"
#include "purser/testnet/merchant.hpp"

namespace purser::testnet {

using nlohmann::json;

json default_merchant_json(int x402_version) {
    json routes = json::array();
    auto add = [&](const char* method, const char* path, const char* handler, const char* description,
                   const char* price, json schemes) {
        json r{{"method", method}, {"path", path}, {"handler", handler}, {"description", description}};
        if (price != nullptr) r["price"] = price;
        r["schemes"] = std::move(schemes);
        routes.push_back(std::move(r));
    };
    add("GET", "/weather", "weather", "Current testnet weather", "1000", {"exact"});
    add("POST", "/echo", "echo", "Echoes the request body", "2000", {"exact"});
    add("GET", "/stream", "stream", "Server-sent events over a few seconds", "3000", {"exact"});
    add("GET", "/premium", "premium", "Premium report priced above usual caps", "5000000", {"exact"});
    if (x402_version == 2) {
        add("GET", "/metered", "metered", "Metered API: batch-settlement or exact", "500",
            {"exact", "batch-settlement"});
    } else {
        // v1 has no batch-settlement, so the v1 merchant offers /metered with exact only.
        add("GET", "/metered", "metered", "Metered API", "500", {"exact"});
    }
    add("GET", "/free", "free", "Free endpoint", nullptr, json::array());
    return json{{"x402Version", x402_version},
                {"asset", std::string(protocol::testnet_usdc)},
                {"withdrawDelay", 900},
                {"maxTimeoutSeconds", 300},
                {"routes", routes}};
}

json default_hostile_merchant_json() {
    json routes = json::array();
    auto add = [&](const char* lie, const char* description) {
        json r{{"method", "GET"},      {"path", std::string("/lie/") + lie},
               {"handler", "weather"}, {"description", description},
               {"price", "100000"},    {"schemes", {"exact"}},
               {"lie", lie}};
        routes.push_back(std::move(r));
    };
    add("under-report", "Settles 0.10 USDC, receipt says 1 atomic unit");
    add("settle-then-500", "Settles, then answers 500 without a receipt");
    routes.back()["maxTimeoutSeconds"] = 8;  // a short window for the payer to notice
    add("settle-then-drop", "Settles, then closes the connection without a response");
    add("settle-then-stall", "Settles, then stalls before answering");
    routes.back()["stallMs"] = 30'000;
    add("crlf-receipt", "Settles; receipt fields carry CR/LF and a forged HTTP message");
    add("escape-receipt", "Settles; receipt fields carry terminal escape codes");
    add("forged-headers", "Settles; sends forged Purser-* headers");
    add("many-offers", "29 unpayable offers, then one genuine offer");
    add("second-402", "Settles, then asks again for 0.20 USDC");
    add("payto-switch", "Never settles; a paid retry gets terms for another payTo");
    add("overcharge-receipt", "Settles 0.10 USDC, receipt claims 100 USDC from another payer");
    // IOU lies: 0.001 a call by voucher only.
    add("iou-overcharge", "Takes a 0.001 voucher, reports charging 0.002");
    routes.back()["price"] = "1000";
    routes.back()["schemes"] = {"batch-settlement"};
    add("iou-stale-state", "Takes a voucher, reports a running total that does not move");
    routes.back()["price"] = "1000";
    routes.back()["schemes"] = {"batch-settlement"};
    add("iou-refund-overstated", "Takes vouchers honestly; a refund's receipt says twice what came back");
    routes.back()["price"] = "1000";
    routes.back()["schemes"] = {"batch-settlement"};
    add("iou-refund-understated", "Takes vouchers honestly; a refund's receipt says 1 atomic unit came back");
    routes.back()["price"] = "1000";
    routes.back()["schemes"] = {"batch-settlement"};
    return json{{"x402Version", 2},
                {"asset", std::string(protocol::testnet_usdc)},
                {"withdrawDelay", 900},
                {"maxTimeoutSeconds", 300},
                {"routes", routes}};
}

result<merchant_config> merchant_config_from_json(const json& j) {
    if (!j.is_object()) return fail(errc::invalid_request, "merchant config must be an object");
    merchant_config c;
    c.x402_version = j.value("x402Version", 2);
    if (c.x402_version != 1 && c.x402_version != 2) return fail(errc::invalid_request, "x402Version must be 1 or 2");
    auto addr = [&](const char* key, protocol::address& out) -> result<void> {
        if (!j.contains(key)) return fail(errc::invalid_request, std::string(key) + " is required");
        if (!j[key].is_string()) return fail(errc::invalid_request, std::string(key) + " must be a string");
        auto a = protocol::address::parse(j[key].get<std::string>());
        if (!a) return fail(errc::invalid_request, std::string(key) + ": " + a.error().detail);
        out = *a;
        return {};
    };
    for (auto [key, out] : {std::pair{"payTo", &c.pay_to}, std::pair{"asset", &c.asset},
                            std::pair{"receiverAuthorizer", &c.receiver_authorizer}}) {
        auto r = addr(key, *out);
        if (!r) return tl::unexpected(r.error());
    }
    if (!j.contains("facilitator") || !j["facilitator"].is_string()) {
        return fail(errc::invalid_request, "facilitator URL is required");
    }
    c.facilitator_url = j["facilitator"];
    c.withdraw_delay = j.value("withdrawDelay", std::uint64_t{900});
    if (j.contains("onchainStateTtlMs")) {
        const auto& t = j["onchainStateTtlMs"];
        if (!t.is_number_integer() || t.get<std::int64_t>() < 0) {
            return fail(errc::invalid_request, "onchainStateTtlMs must be a non-negative integer");
        }
        c.onchain_state_ttl_ms = j["onchainStateTtlMs"].get<std::uint64_t>();
    }
    c.max_timeout_seconds = j.value("maxTimeoutSeconds", std::uint64_t{300});
    if (c.max_timeout_seconds == 0) return fail(errc::invalid_request, "maxTimeoutSeconds must be > 0");
    c.stream_events = j.value("streamEvents", std::uint64_t{5});
    c.stream_interval_ms = j.value("streamIntervalMs", std::uint64_t{400});
    if (!j.contains("routes") || !j["routes"].is_array()) return fail(errc::invalid_request, "routes must be an array");
    std::size_t i = 0;
    for (const auto& r : j["routes"]) {
        const std::string where = "routes[" + std::to_string(i++) + "]";
        if (!r.is_object()) return fail(errc::invalid_request, where + " must be an object");
        merchant_route route;
        route.method = r.value("method", "GET");
        route.path = r.value("path", "");
        route.handler = r.value("handler", "");
        route.description = r.value("description", "");
        if (route.path.empty() || route.path[0] != '/') return fail(errc::invalid_request, where + ".path must start with /");
        static const std::set<std::string> handlers{"weather", "echo", "stream", "premium", "metered", "free"};
        if (handlers.count(route.handler) == 0) return fail(errc::invalid_request, where + ".handler is unknown");
        if (r.contains("price")) {
            if (!r["price"].is_string()) return fail(errc::invalid_request, where + ".price must be a decimal string");
            auto p = protocol::uint256::from_decimal(r["price"].get<std::string>());
            if (!p || p->is_zero()) return fail(errc::invalid_request, where + ".price must be a positive integer");
            route.price = *p;
        }
        for (const auto& s : r.value("schemes", json::array())) {
            if (!s.is_string() || (s != "exact" && s != "batch-settlement")) {
                return fail(errc::invalid_request, where + ".schemes: only exact and batch-settlement");
            }
            if (s == "batch-settlement" && c.x402_version == 1) {
                return fail(errc::invalid_request, where + ": batch-settlement needs x402Version 2");
            }
            route.schemes.push_back(s.get<std::string>());
        }
        if (route.price && route.schemes.empty()) return fail(errc::invalid_request, where + " has a price but no schemes");
        if (r.contains("maxTimeoutSeconds")) {
            const auto& t = r["maxTimeoutSeconds"];
            // Built in code, 8 is a signed integer; read from a file, an unsigned one.
            if (!t.is_number_integer() || t.get<std::int64_t>() <= 0) {
                return fail(errc::invalid_request,
                            where + ".maxTimeoutSeconds must be a positive integer");
            }
            route.max_timeout_seconds = t.get<std::uint64_t>();
        }
        if (r.contains("lie")) {
            auto lie = r["lie"].is_string() ? merchant_lie_from_string(r["lie"].get<std::string>())
                                            : std::nullopt;
            if (!lie) return fail(errc::invalid_request, where + ".lie is unknown");
            // Each lie is written against one v2 flow (the IOU ones against batch-settlement, the
            // others against exact); anywhere else it would silently not happen.
            const bool iou_lie = *lie == merchant_lie::iou_overcharge || *lie == merchant_lie::iou_stale_state ||
                                 *lie == merchant_lie::iou_refund_overstated ||
                                 *lie == merchant_lie::iou_refund_understated;
            const std::vector<std::string> flow{iou_lie ? "batch-settlement" : "exact"};
            if (*lie != merchant_lie::none && (c.x402_version != 2 || !route.price || route.schemes != flow)) {
                return fail(errc::invalid_request,
                            where + ".lie needs x402Version 2 and a price with schemes [" + flow[0] + "]");
            }
            route.lie = *lie;
        }
        if (r.contains("stallMs")) {
            if (!r["stallMs"].is_number_integer() || r["stallMs"].get<std::int64_t>() < 0) {
                return fail(errc::invalid_request, where + ".stallMs must be a non-negative integer");
            }
            route.stall_ms = r["stallMs"].get<std::uint64_t>();
        }
        c.routes.push_back(std::move(route));
    }
    return c;
}

}  // namespace purser::testnet
