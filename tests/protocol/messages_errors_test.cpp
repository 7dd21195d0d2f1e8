// Malformed x402 input: every case must fail with the right code and a detail naming the field.
#include "purser/protocol/messages.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

namespace {

ojson v2_required() {
    return ojson::parse(R"({"x402Version":2,"error":"Payment required",
      "resource":{"url":"https://api.example.com/x","description":"d","mimeType":"application/json"},
      "accepts":[{"scheme":"exact","network":"eip155:84532","amount":"1000",
        "asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,
        "extra":{"name":"USDC","version":"2"}}]})");
}

ojson v1_required() {
    return ojson::parse(R"({"x402Version":1,"error":"X-PAYMENT header is required",
      "accepts":[{"scheme":"exact","network":"base-sepolia","maxAmountRequired":"10000",
        "resource":"https://api.example.com/x","description":"","mimeType":"application/json",
        "payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,
        "asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","extra":{"name":"USDC","version":"2"}}]})");
}

ojson v2_payload() {
    ojson p = ojson::object();
    p["x402Version"] = 2;
    p["payload"] = ojson::parse(R"({"authorization":{"from":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},"signature":"0x00"})");
    p["resource"] = v2_required()["resource"];
    p["accepted"] = v2_required()["accepts"][0];
    return p;
}

ojson settle_ok() {
    return ojson::parse(R"({"success":true,"transaction":"0xab","network":"eip155:84532"})");
}

std::string with(ojson j, const std::function<void(ojson&)>& edit) {
    edit(j);
    return j.dump();
}

std::string nested(std::size_t depth) {
    return std::string(R"({"x402Version":1,"deep":)") + std::string(depth, '[') +
           std::string(depth, ']') + "}";
}

enum class kind { required_json, required_header, read_body, read_header_and_body, payload_header,
                  payload_json, settle_json, settle_header, verify_json };

struct bad_case {
    std::string name;
    kind k;
    std::string input;
    errc expected;
    std::string detail;  ///< Must appear in the error detail.
    std::string body = {};  ///< For read_header_and_body.
};

purser::error run(const bad_case& c) {
    auto err = [](auto r) -> purser::error {
        if (r) return purser::error{};
        return r.error();
    };
    switch (c.k) {
        case kind::required_json: return err(parse_payment_required(c.input));
        case kind::required_header: return err(decode_payment_required_header(c.input));
        case kind::read_body: return err(read_payment_required(std::nullopt, c.input));
        case kind::read_header_and_body:
            return err(read_payment_required(std::string_view(c.input), c.body));
        case kind::payload_header: return err(decode_payment_header(c.input));
        case kind::payload_json: return err(parse_payment_payload(c.input));
        case kind::settle_json: return err(parse_settle_response(c.input));
        case kind::settle_header: return err(decode_settle_response_header(c.input));
        case kind::verify_json: return err(parse_verify_response(c.input));
    }
    return {};
}

std::string url_safe(std::string b64) {
    for (char& ch : b64) {
        if (ch == '+') ch = '-';
        if (ch == '/') ch = '_';
    }
    return b64;
}

std::vector<bad_case> bad_cases() {
    const std::string overflow = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    // A description whose base64 is sure to contain '+' and '/' (any run of six '>' holds an aligned "Pj4+", six '?' a "Pz8/").
    const std::string b64_with_specials = base64_encode(with(v2_required(), [](ojson& j) {
        j["resource"]["description"] = ">>>>>> ??????";
    }));
    const std::string good_header = base64_encode(v2_required().dump());
    using K = kind;
    auto acc = [](std::function<void(ojson&)> f) {
        return [f](ojson& j) { f(j["accepts"][0]); };
    };
    return {
        // Base64 and framing of headers.
        {"bad base64 characters", K::required_header, "!!!!", errc::invalid_base64, "PAYMENT-REQUIRED header"},
        {"url-safe base64 in PAYMENT-REQUIRED", K::required_header, url_safe(b64_with_specials), errc::invalid_base64, "not base64"},
        {"whitespace inside a header", K::required_header, good_header.substr(0, 8) + " " + good_header.substr(9), errc::invalid_base64, "not base64"},
        {"truncated base64", K::required_header, good_header.substr(0, good_header.size() - 3), errc::invalid_base64, "PAYMENT-REQUIRED header"},
        {"oversized header", K::required_header, std::string(max_header_bytes + 4, 'A'), errc::too_large, "PAYMENT-REQUIRED header"},
        {"header of truncated JSON", K::required_header, base64_encode(v2_required().dump().substr(0, 40)), errc::invalid_json, "PAYMENT-REQUIRED header"},
        {"v1 terms in the v2 header", K::required_header, base64_encode(v1_required().dump()), errc::unsupported_version, "header is v2 only"},
        // Structure.
        {"truncated JSON", K::required_json, v2_required().dump().substr(0, 100), errc::invalid_json, "not valid JSON"},
        {"empty text", K::required_json, "", errc::invalid_json, "not valid JSON"},
        {"array root", K::required_json, "[]", errc::wrong_type, "root: expected a JSON object"},
        {"string root", K::required_json, "\"x402\"", errc::wrong_type, "root: expected a JSON object"},
        {"invalid UTF-8", K::required_json, std::string("{\"x402Version\":2,\"error\":\"\xff\"}"), errc::invalid_json, "not valid JSON"},
        {"nested 100 deep", K::required_json, nested(100), errc::invalid_json, "nested deeper than 64"},
        {"nested 200000 deep", K::required_json, nested(200000), errc::invalid_json, "nested deeper than 64"},
        {"oversized body", K::required_json, std::string(max_body_bytes + 1, ' '), errc::too_large, "exceeds the limit"},
        // x402Version.
        {"missing x402Version", K::required_json, with(v2_required(), [](ojson& j) { j.erase("x402Version"); }), errc::missing_field, "x402Version: required"},
        {"x402Version as a string", K::required_json, with(v2_required(), [](ojson& j) { j["x402Version"] = "2"; }), errc::wrong_type, "x402Version: expected an integer"},
        {"x402Version 3", K::required_json, with(v2_required(), [](ojson& j) { j["x402Version"] = 3; }), errc::unsupported_version, "x402Version: 3"},
        {"x402Version 0", K::required_json, with(v2_required(), [](ojson& j) { j["x402Version"] = 0; }), errc::unsupported_version, "x402Version"},
        {"x402Version -2", K::required_json, with(v2_required(), [](ojson& j) { j["x402Version"] = -2; }), errc::unsupported_version, "x402Version"},
        {"x402Version 2.0", K::required_json, with(v2_required(), [](ojson& j) { j["x402Version"] = 2.5; }), errc::wrong_type, "x402Version"},
        // accepts.
        {"missing accepts", K::required_json, with(v2_required(), [](ojson& j) { j.erase("accepts"); }), errc::missing_field, "accepts: required"},
        {"accepts is an object", K::required_json, with(v2_required(), [](ojson& j) { j["accepts"] = ojson::object(); }), errc::wrong_type, "accepts: expected an array"},
        {"empty accepts", K::required_json, with(v2_required(), [](ojson& j) { j["accepts"] = ojson::array(); }), errc::empty_accepts, "accepts"},
        {"accepts entry is a string", K::required_json, with(v2_required(), [](ojson& j) { j["accepts"][0] = "exact"; }), errc::wrong_type, "accepts[0]: expected an object"},
        // Amounts.
        {"amount as a number", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = 1000; })), errc::wrong_type, "accepts[0].amount: expected a decimal string"},
        {"negative amount", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = "-1"; })), errc::invalid_decimal, "accepts[0].amount"},
        {"decimal point amount", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = "1.5"; })), errc::invalid_decimal, "accepts[0].amount"},
        {"exponent amount", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = "1e6"; })), errc::invalid_decimal, "accepts[0].amount"},
        {"empty amount", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = ""; })), errc::invalid_decimal, "accepts[0].amount"},
        {"amount with a space", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = " 100"; })), errc::invalid_decimal, "accepts[0].amount"},
        {"amount with a plus", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = "+100"; })), errc::invalid_decimal, "accepts[0].amount"},
        {"hex amount", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = "0x10"; })), errc::invalid_decimal, "accepts[0].amount"},
        {"amount 2^256", K::required_json, with(v2_required(), acc([&](ojson& a) { a["amount"] = overflow; })), errc::overflow, "accepts[0].amount: exceeds 2^256-1"},
        {"amount of 100 digits", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = std::string(100, '9'); })), errc::overflow, "accepts[0].amount"},
        {"missing amount", K::required_json, with(v2_required(), acc([](ojson& a) { a.erase("amount"); })), errc::missing_field, "accepts[0].amount: required"},
        {"null amount", K::required_json, with(v2_required(), acc([](ojson& a) { a["amount"] = nullptr; })), errc::missing_field, "accepts[0].amount: required"},
        {"v1 field name in a v2 offer", K::required_json, with(v2_required(), acc([](ojson& a) { a["maxAmountRequired"] = a["amount"]; a.erase("amount"); })), errc::missing_field, "accepts[0].amount"},
        // Other offer fields.
        {"v2 network without a colon", K::required_json, with(v2_required(), acc([](ojson& a) { a["network"] = "base-sepolia"; })), errc::invalid_value, "accepts[0].network"},
        {"missing network", K::required_json, with(v2_required(), acc([](ojson& a) { a.erase("network"); })), errc::missing_field, "accepts[0].network"},
        {"scheme as a number", K::required_json, with(v2_required(), acc([](ojson& a) { a["scheme"] = 1; })), errc::wrong_type, "accepts[0].scheme"},
        {"empty scheme", K::required_json, with(v2_required(), acc([](ojson& a) { a["scheme"] = ""; })), errc::invalid_value, "accepts[0].scheme"},
        {"missing payTo", K::required_json, with(v2_required(), acc([](ojson& a) { a.erase("payTo"); })), errc::missing_field, "accepts[0].payTo"},
        {"short payTo", K::required_json, with(v2_required(), acc([](ojson& a) { a["payTo"] = "0x1234"; })), errc::invalid_address, "accepts[0].payTo"},
        {"payTo with a bad checksum", K::required_json, with(v2_required(), acc([](ojson& a) { a["payTo"] = "0x209693bc6afc0C5328bA36FaF03C514EF312287C"; })), errc::invalid_address, "accepts[0].payTo"},
        {"asset not hex", K::required_json, with(v2_required(), acc([](ojson& a) { a["asset"] = "0xZZ6CbD53842c5426634e7929541eC2318f3dCF7e"; })), errc::invalid_address, "accepts[0].asset"},
        {"asset with a bad checksum", K::required_json, with(v2_required(), acc([](ojson& a) { a["asset"] = "0x036cbD53842c5426634e7929541eC2318f3dCF7e"; })), errc::invalid_address, "accepts[0].asset"},
        {"missing asset", K::required_json, with(v2_required(), acc([](ojson& a) { a.erase("asset"); })), errc::missing_field, "accepts[0].asset"},
        {"maxTimeoutSeconds 0", K::required_json, with(v2_required(), acc([](ojson& a) { a["maxTimeoutSeconds"] = 0; })), errc::invalid_value, "accepts[0].maxTimeoutSeconds"},
        {"negative maxTimeoutSeconds", K::required_json, with(v2_required(), acc([](ojson& a) { a["maxTimeoutSeconds"] = -5; })), errc::invalid_value, "accepts[0].maxTimeoutSeconds"},
        {"maxTimeoutSeconds as a string", K::required_json, with(v2_required(), acc([](ojson& a) { a["maxTimeoutSeconds"] = "60"; })), errc::wrong_type, "accepts[0].maxTimeoutSeconds"},
        {"fractional maxTimeoutSeconds", K::required_json, with(v2_required(), acc([](ojson& a) { a["maxTimeoutSeconds"] = 60.5; })), errc::wrong_type, "accepts[0].maxTimeoutSeconds"},
        {"missing maxTimeoutSeconds", K::required_json, with(v2_required(), acc([](ojson& a) { a.erase("maxTimeoutSeconds"); })), errc::missing_field, "accepts[0].maxTimeoutSeconds"},
        {"extra as a string", K::required_json, with(v2_required(), acc([](ojson& a) { a["extra"] = "USDC"; })), errc::wrong_type, "accepts[0].extra"},
        {"extra as an array", K::required_json, with(v2_required(), acc([](ojson& a) { a["extra"] = ojson::array(); })), errc::wrong_type, "accepts[0].extra"},
        {"bad second offer", K::required_json, with(v2_required(), [](ojson& j) { j["accepts"].push_back(j["accepts"][0]); j["accepts"][1]["payTo"] = "nobody"; }), errc::invalid_address, "accepts[1].payTo"},
        // v2 top level.
        {"resource without url", K::required_json, with(v2_required(), [](ojson& j) { j["resource"].erase("url"); }), errc::missing_field, "resource.url"},
        {"empty resource url", K::required_json, with(v2_required(), [](ojson& j) { j["resource"]["url"] = ""; }), errc::invalid_value, "resource.url"},
        {"resource as a number", K::required_json, with(v2_required(), [](ojson& j) { j["resource"] = 5; }), errc::wrong_type, "resource: expected an object"},
        {"extensions as an array", K::required_json, with(v2_required(), [](ojson& j) { j["extensions"] = ojson::array(); }), errc::wrong_type, "extensions"},
        {"error as a number", K::required_json, with(v2_required(), [](ojson& j) { j["error"] = 5; }), errc::wrong_type, "error: expected a string"},
        // v1 offers.
        {"v1 without description", K::required_json, with(v1_required(), acc([](ojson& a) { a.erase("description"); })), errc::missing_field, "accepts[0].description"},
        {"v1 without resource", K::required_json, with(v1_required(), acc([](ojson& a) { a.erase("resource"); })), errc::missing_field, "accepts[0].resource"},
        {"v1 numeric maxAmountRequired", K::required_json, with(v1_required(), acc([](ojson& a) { a["maxAmountRequired"] = 10000; })), errc::wrong_type, "accepts[0].maxAmountRequired"},
        {"v1 with amount instead of maxAmountRequired", K::required_json, with(v1_required(), acc([](ojson& a) { a["amount"] = "1"; a.erase("maxAmountRequired"); })), errc::missing_field, "accepts[0].maxAmountRequired"},
        {"v1 mimeType as a number", K::required_json, with(v1_required(), acc([](ojson& a) { a["mimeType"] = 5; })), errc::wrong_type, "accepts[0].mimeType"},
        {"v1 outputSchema as a string", K::required_json, with(v1_required(), acc([](ojson& a) { a["outputSchema"] = "x"; })), errc::wrong_type, "accepts[0].outputSchema"},
        {"v1 bad payTo on a v1 EVM name", K::required_json, with(v1_required(), acc([](ojson& a) { a["payTo"] = "0x209693BC6AFC0C5328BA36FAF03C514EF312287c"; })), errc::invalid_address, "accepts[0].payTo"},
        // How a client reads a 402.
        {"v2 body without the header", K::read_body, v2_required().dump(), errc::missing_field, "PAYMENT-REQUIRED header"},
        {"empty 402 body and no header", K::read_body, "", errc::missing_field, "PAYMENT-REQUIRED header"},
        {"{} body and no header", K::read_body, "{}", errc::missing_field, "x402Version"},
        {"HTML 402 body", K::read_body, "<html>pay</html>", errc::invalid_json, "402 body"},
        {"garbage header wins over a good v1 body", K::read_header_and_body, "%%%%", errc::invalid_base64, "PAYMENT-REQUIRED header", v1_required().dump()},
        // Payment payloads.
        {"url-safe payment header", K::payload_header, url_safe(base64_encode(with(v2_payload(), [](ojson& j) { j["payload"]["signature"] = ">>>>>> ??????"; }))), errc::invalid_base64, "payment header"},
        {"payload missing", K::payload_json, with(v2_payload(), [](ojson& j) { j.erase("payload"); }), errc::missing_field, "payload: required"},
        {"payload as a string", K::payload_json, with(v2_payload(), [](ojson& j) { j["payload"] = "0x00"; }), errc::wrong_type, "payload: expected an object"},
        {"v2 payload without accepted", K::payload_json, with(v2_payload(), [](ojson& j) { j.erase("accepted"); }), errc::missing_field, "accepted: required"},
        {"null accepted", K::payload_json, with(v2_payload(), [](ojson& j) { j["accepted"] = nullptr; }), errc::missing_field, "accepted: required"},
        {"accepted amount as a number", K::payload_json, with(v2_payload(), [](ojson& j) { j["accepted"]["amount"] = 1000; }), errc::wrong_type, "accepted.amount"},
        {"v1 payload without scheme", K::payload_json, R"({"x402Version":1,"network":"base","payload":{}})", errc::missing_field, "scheme: required"},
        {"payload version 7", K::payload_json, with(v2_payload(), [](ojson& j) { j["x402Version"] = 7; }), errc::unsupported_version, "x402Version"},
        {"payload header of a number", K::payload_header, base64_encode("42"), errc::wrong_type, "root"},
        // Settle and verify responses.
        {"settle without success", K::settle_json, with(settle_ok(), [](ojson& j) { j.erase("success"); }), errc::missing_field, "success: required"},
        {"settle success as a string", K::settle_json, with(settle_ok(), [](ojson& j) { j["success"] = "true"; }), errc::wrong_type, "success: expected a boolean"},
        {"settle without transaction", K::settle_json, with(settle_ok(), [](ojson& j) { j.erase("transaction"); }), errc::missing_field, "transaction: required"},
        {"settle without network", K::settle_json, with(settle_ok(), [](ojson& j) { j.erase("network"); }), errc::missing_field, "network: required"},
        {"settle amount with a point", K::settle_json, with(settle_ok(), [](ojson& j) { j["amount"] = "1.0"; }), errc::invalid_decimal, "amount"},
        {"settle extra as an array", K::settle_json, with(settle_ok(), [](ojson& j) { j["extra"] = ojson::array(); }), errc::wrong_type, "extra: expected an object"},
        {"settle header with whitespace", K::settle_header, " " + base64_encode(settle_ok().dump()), errc::invalid_base64, "PAYMENT-RESPONSE header"},
        {"verify without isValid", K::verify_json, R"({"payer":"0x"})", errc::missing_field, "isValid: required"},
        {"verify invalidReason as a number", K::verify_json, R"({"isValid":false,"invalidReason":5})", errc::wrong_type, "invalidReason"},
    };
}

}  // namespace

TEST_CASE("malformed x402 input is rejected with the right code and a detail naming the field", "[protocol][messages]") {
    const auto cases = bad_cases();
    CHECK(cases.size() >= 40);
    for (const auto& c : cases) {
        INFO("case: " << c.name);
        const purser::error e = run(c);
        INFO("got: " << (e.code ? e.message() : std::string("success")));
        CHECK(e.code == make_error_code(c.expected));
        CHECK(e.detail.find(c.detail) != std::string::npos);
    }
}

TEST_CASE("the url-safe case really uses url-safe characters", "[protocol][messages]") {
    const std::string header = base64_encode(with(v2_required(), [](ojson& j) {
        j["resource"]["description"] = ">>>>>> ??????";
    }));
    CHECK(header.find_first_of("+/") != std::string::npos);
    // The standard form of the same message is accepted.
    CHECK(decode_payment_required_header(header));
}
