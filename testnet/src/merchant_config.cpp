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
        c.routes.push_back(std::move(route));
    }
    return c;
}

}  // namespace purser::testnet
