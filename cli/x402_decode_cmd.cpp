// purser x402 decode <header-or-file>: shows what an x402 header or body says, as pretty JSON with
// human amounts beside atomic ones when the token is known.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "command_table.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"

namespace purser::cli {
namespace {

using protocol::errc;
using protocol::ojson;


enum class message_kind { payment_required, payment_payload, settle_response, verify_response };

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

result<std::string> read_input(const std::string& arg) {
    if (arg == "-") {
        std::stringstream ss;
        ss << std::cin.rdbuf();
        return ss.str();
    }
    std::error_code ec;
    // A base64 value or JSON is never a path to an existing regular file; a path is read.
    if (arg.size() < 4096 && std::filesystem::is_regular_file(arg, ec)) {
        if (std::filesystem::file_size(arg, ec) > protocol::max_body_bytes) {
            return fail(errc::too_large, arg + ": larger than " +
                                             std::to_string(protocol::max_body_bytes) + " bytes");
        }
        std::ifstream in(arg, std::ios::binary);
        if (!in) return fail(errc::invalid_value, arg + ": cannot be read");
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    return arg;
}

// "Name: value" -> the message kind of that header name; the value is left in `value`.
result<std::optional<message_kind>> split_header_line(std::string_view& value) {
    const auto colon = value.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::optional<message_kind>{};
    const std::string_view name = value.substr(0, colon);
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
            return std::optional<message_kind>{};
        }
    }
    const std::string n = lower(name);
    message_kind kind;
    if (n == "payment-required") {
        kind = message_kind::payment_required;
    } else if (n == "payment-signature" || n == "x-payment") {
        kind = message_kind::payment_payload;
    } else if (n == "payment-response" || n == "x-payment-response") {
        kind = message_kind::settle_response;
    } else {
        return fail(errc::invalid_value, "header " + std::string(name) + " is not an x402 header");
    }
    value = trim(value.substr(colon + 1));
    return std::optional<message_kind>{kind};
}

// Which message a JSON object is, by the fields only that message has.
result<message_kind> detect(const ojson& j) {
    if (!j.is_object()) return fail(errc::wrong_type, "not a JSON object, so not an x402 message");
    if (j.contains("accepts")) return message_kind::payment_required;
    if (j.contains("payload")) return message_kind::payment_payload;
    if (j.contains("success")) return message_kind::settle_response;
    if (j.contains("isValid")) return message_kind::verify_response;
    return fail(errc::invalid_value,
                "cannot tell which x402 message this is (no accepts, payload, success or isValid)");
}

struct decoded {
    message_kind kind;
    int version = 0;  ///< 0 when the message has none (settle, verify).
    ojson raw;
};

result<decoded> decode_text(std::string_view text, std::optional<message_kind> kind, bool is_header) {
    if (!kind) {
        // Peek at the content to learn the kind; the typed decoders below do the strict checks.
        std::string json_text;
        if (is_header) {
            auto bytes = protocol::base64_decode_header(text, protocol::max_header_bytes);
            if (!bytes) return tl::unexpected(bytes.error());
            json_text = std::move(*bytes);
        } else {
            json_text = std::string(text);
        }
        PURSER_TRY(root, protocol::parse_untrusted_json(json_text, protocol::max_body_bytes));
        PURSER_TRY(k, detect(root));
        kind = k;
    }
    decoded out{*kind, 0, {}};
    switch (*kind) {
        case message_kind::payment_required: {
            auto r = is_header ? protocol::decode_payment_required_header(text)
                               : protocol::parse_payment_required(text);
            if (!r) return tl::unexpected(r.error());
            out.version = r->x402_version;
            out.raw = std::move(r->raw);
            break;
        }
        case message_kind::payment_payload: {
            auto r = is_header ? protocol::decode_payment_header(text)
                               : protocol::parse_payment_payload(text);
            if (!r) return tl::unexpected(r.error());
            out.version = r->x402_version;
            out.raw = std::move(r->raw);
            break;
        }
        case message_kind::settle_response: {
            auto r = is_header ? protocol::decode_settle_response_header(text)
                               : protocol::parse_settle_response(text);
            if (!r) return tl::unexpected(r.error());
            out.raw = std::move(r->raw);
            break;
        }
        case message_kind::verify_response: {
            if (is_header) return fail(errc::invalid_value, "a verify response is never a header");
            auto r = protocol::parse_verify_response(text);
            if (!r) return tl::unexpected(r.error());
            out.raw = std::move(r->raw);
            break;
        }
    }
    return out;
}

// Returns `obj` with "<key>Human" inserted right after `key`, when the token is known.
void annotate(ojson& obj, const std::string& key, const protocol::network_registry& registry,
              const ojson& network, const ojson& asset) {
    if (!obj.is_object() || !network.is_string() || !asset.is_string()) return;
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return;
    const protocol::network_info* net = registry.find(network.get<std::string>());
    if (net == nullptr) return;
    auto token = protocol::address::parse(asset.get<std::string>());
    if (!token) return;
    const protocol::asset_info* info = registry.find_asset(*net, *token);
    if (info == nullptr) return;
    auto atomic = protocol::uint256::from_decimal(it->get<std::string>());
    if (!atomic) return;
    const std::string human = protocol::format_units(*atomic, info->decimals) + " " + info->symbol;
    ojson rebuilt = ojson::object();
    for (auto& [k, v] : obj.items()) {
        rebuilt[k] = v;
        if (k == key) rebuilt[key + "Human"] = human;
    }
    obj = std::move(rebuilt);
}

void annotate_requirements(ojson& req, const protocol::network_registry& registry) {
    if (!req.is_object()) return;
    const ojson network = req.value("network", ojson());
    const ojson asset = req.value("asset", ojson());
    annotate(req, "amount", registry, network, asset);
    annotate(req, "maxAmountRequired", registry, network, asset);
}

void annotate_message(decoded& d, const protocol::network_registry& registry) {
    ojson& j = d.raw;
    if (d.kind == message_kind::payment_required) {
        for (auto& req : j["accepts"]) annotate_requirements(req, registry);
    } else if (d.kind == message_kind::payment_payload && d.version == 2) {
        const ojson network = j["accepted"].value("network", ojson());
        const ojson asset = j["accepted"].value("asset", ojson());
        annotate_requirements(j["accepted"], registry);
        ojson& payload = j["payload"];
        if (payload.contains("authorization")) {
            annotate(payload["authorization"], "value", registry, network, asset);
        }
        if (payload.contains("permit2Authorization") &&
            payload["permit2Authorization"].contains("permitted")) {
            annotate(payload["permit2Authorization"]["permitted"], "amount", registry, network, asset);
        }
    }
}

const char* kind_name(const decoded& d) {
    switch (d.kind) {
        case message_kind::payment_required: return "payment required";
        case message_kind::payment_payload: return "payment payload";
        case message_kind::settle_response: return "settle response";
        case message_kind::verify_response: return "verify response";
    }
    return "message";
}

}  // namespace

int x402_decode_command(const words& args) {
    int rc = 0;
    auto opts = parse_command("x402 decode", args, rc);
    if (!opts) return rc;
    if (opts->positional().size() != 1) {
        std::cerr << help_text(*find_command("x402 decode"));
        return 2;
    }
    auto registry = protocol::network_registry::builtin();
    if (auto file = opts->get("networks")) {
        std::ifstream in(*file);
        if (!in) return report("--networks " + *file + ": cannot be read");
        auto config = nlohmann::json::parse(in, nullptr, false);
        if (config.is_discarded()) return report("--networks " + *file + ": not valid JSON");
        if (auto ok = registry.add_from_json(config); !ok) return report(ok.error());
    }

    auto input = read_input(opts->positional()[0]);
    if (!input) return report(input.error());
    std::string_view text = trim(*input);
    if (text.empty()) return report("nothing to decode");

    auto header_kind = split_header_line(text);
    if (!header_kind) return report(header_kind.error());
    const bool is_json = !text.empty() && text.front() == '{';
    const bool is_header = header_kind->has_value() || !is_json;
    auto message = decode_text(text, *header_kind, is_header);
    if (!message) return report(message.error());

    annotate_message(*message, registry);
    std::cerr << "purser: " << kind_name(*message);
    if (message->version != 0) std::cerr << " (x402 v" << message->version << ")";
    std::cerr << (is_header ? ", from a header value" : ", from JSON") << "\n";
    std::cout << message->raw.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    return 0;
}

}  // namespace purser::cli
