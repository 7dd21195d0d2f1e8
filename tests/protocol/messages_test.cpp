// Well-formed x402 messages: tolerance for nulls and unknown fields, verbatim echoes, key order.
#include "purser/protocol/messages.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

namespace {

const char* go_style_required = R"({"x402Version":2,"error":null,
  "resource":{"url":"https://api.example.com/x","description":null,"mimeType":null,"serviceName":"Weather"},
  "accepts":[{"network":"eip155:8453","scheme":"exact","amount":"000250","asset":"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
    "payTo":"0x209693BC6AFC0C5328BA36FAF03C514EF312287C","maxTimeoutSeconds":300,"extra":null,
    "unknownKey":{"nested":[1,2,null]},"nullKey":null}],
  "extensions":{"bazaar":{"info":{"a":1},"schema":{}}}})";

}  // namespace

TEST_CASE("explicit nulls, unknown keys, lower/upper-case addresses are accepted and kept", "[protocol][messages]") {
    auto pr = parse_payment_required(go_style_required);
    REQUIRE(pr);
    CHECK(pr->error.empty());
    REQUIRE(pr->resource);
    CHECK(pr->resource->description.empty());
    CHECK(pr->resource->raw["serviceName"] == "Weather");
    const auto& a = pr->accepts.at(0);
    CHECK(a.amount == uint256(250));  // leading zeros parse; raw keeps "000250" for the echo
    CHECK(a.extra.is_null());
    CHECK(a.raw["unknownKey"]["nested"].size() == 3);
    CHECK(a.raw.contains("nullKey"));
    CHECK(pr->extensions["bazaar"]["info"]["a"] == 1);
}

TEST_CASE("v2 echo: accepted, resource and extensions are the server's objects verbatim", "[protocol][messages]") {
    auto pr = parse_payment_required(go_style_required);
    REQUIRE(pr);
    ojson scheme_payload = ojson::object();
    scheme_payload["signature"] = "0x01";
    scheme_payload["authorization"] = ojson::object();  // insertion order must survive
    auto p = make_payment_payload(*pr, pr->accepts[0], scheme_payload);
    CHECK(p.x402_version == 2);
    CHECK(p.scheme == "exact");
    CHECK(p.network == "eip155:8453");
    const std::string json = serialize(p);
    const std::string accepted_raw = pr->accepts[0].raw.dump();
    const std::string expected =
        std::string(R"({"x402Version":2,"payload":{"signature":"0x01","authorization":{}},)") +
        R"("extensions":{"bazaar":{"info":{"a":1},"schema":{}}},)" +
        R"("resource":{"url":"https://api.example.com/x","description":null,"mimeType":null,"serviceName":"Weather"},)" +
        R"("accepted":)" + accepted_raw + "}";
    CHECK(json == expected);
    // The echo kept the server's key order, nulls, unknown keys and "000250" as sent.
    CHECK(accepted_raw.find(R"({"network":"eip155:8453","scheme":"exact","amount":"000250")") == 0);
    CHECK(accepted_raw.find(R"("nullKey":null)") != std::string::npos);
    CHECK(encode_payment_header(p) == base64_encode(json));
    CHECK(payment_header_name(p.x402_version) == "PAYMENT-SIGNATURE");

    auto back = decode_payment_header(encode_payment_header(p));
    REQUIRE(back);
    CHECK(back->accepted.dump() == accepted_raw);
    CHECK(back->extensions == pr->extensions);
}

TEST_CASE("v2 echo omits resource and extensions the server did not send", "[protocol][messages]") {
    auto pr = parse_payment_required(R"({"x402Version":2,"accepts":[{"scheme":"exact","network":"eip155:84532",
      "amount":"1","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      "payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":5}]})");
    REQUIRE(pr);
    CHECK_FALSE(pr->resource);
    CHECK(pr->accepts[0].extra.is_null());
    auto p = make_payment_payload(*pr, pr->accepts[0], ojson::object());
    CHECK(serialize(p) == std::string(R"({"x402Version":2,"payload":{},"accepted":)") +
                              pr->accepts[0].raw.dump() + "}");
}

TEST_CASE("v1: a 402 body answers with an X-PAYMENT payload in v1 shape", "[protocol][messages]") {
    auto pr = read_payment_required(std::nullopt, R"({"x402Version":1,"error":"X-PAYMENT header is required",
      "accepts":[{"scheme":"exact","network":"base","maxAmountRequired":"10000","resource":"https://a/b",
      "description":"","mimeType":null,"outputSchema":null,"payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
      "maxTimeoutSeconds":60,"asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","extra":{"name":"USD Coin","version":"2"}}]})");
    REQUIRE(pr);
    CHECK(pr->x402_version == 1);
    const auto& a = pr->accepts[0];
    CHECK(a.x402_version == 1);
    CHECK(a.amount == uint256(10000));
    CHECK(a.resource == "https://a/b");
    CHECK(a.description.empty());
    CHECK(a.mime_type.empty());
    auto p = make_payment_payload(*pr, a, ojson::parse(R"({"signature":"0x02"})"));
    CHECK(payment_header_name(p.x402_version) == "X-PAYMENT");
    CHECK(serialize(p) ==
          R"({"x402Version":1,"scheme":"exact","network":"base","payload":{"signature":"0x02"}})");
}

TEST_CASE("header rules: the header wins, an empty header counts as absent", "[protocol][messages]") {
    const std::string v1_body = R"({"x402Version":1,"error":"","accepts":[{"scheme":"exact","network":"base",
      "maxAmountRequired":"1","resource":"r","description":"","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
      "maxTimeoutSeconds":1,"asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"}]})";
    const std::string v2_json = R"({"x402Version":2,"accepts":[{"scheme":"exact","network":"eip155:8453",
      "amount":"7","asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
      "payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":1}]})";
    auto from_header = read_payment_required(std::string_view(base64_encode(v2_json)), v1_body);
    REQUIRE(from_header);
    CHECK(from_header->x402_version == 2);
    CHECK(from_header->accepts[0].amount == uint256(7));
    auto empty_header = read_payment_required(std::string_view(""), v1_body);
    REQUIRE(empty_header);
    CHECK(empty_header->x402_version == 1);
    // An unpadded header is what some encoders send; the official regex allows it too.
    std::string unpadded = base64_encode(v2_json);
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    CHECK(decode_payment_required_header(unpadded));
}

TEST_CASE("non-EVM offers keep their own address formats", "[protocol][messages]") {
    auto pr = parse_payment_required(R"({"x402Version":2,"accepts":[{"scheme":"exact",
      "network":"solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1","amount":"5",
      "asset":"4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU","payTo":"2wKupLR9q6wXYppw8Gr2NvWxKBUqm4PPJKkQfoxHDBg4",
      "maxTimeoutSeconds":60,"extra":{"feePayer":"x"}}]})");
    REQUIRE(pr);
    CHECK(pr->accepts[0].asset == "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU");
}

TEST_CASE("the largest uint256 amount parses and one more overflows", "[protocol][messages]") {
    const std::string max = uint256::max().to_decimal();
    auto ok = parse_payment_required(std::string(R"({"x402Version":2,"accepts":[{"scheme":"exact","network":"eip155:1","amount":")") +
                                     max + R"(","asset":"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":1}]})");
    REQUIRE(ok);
    CHECK(ok->accepts[0].amount == uint256::max());
}

TEST_CASE("JSON nested exactly at the limit still parses", "[protocol][messages]") {
    // Root object + extra object + 62 arrays = 64 levels; one more array is refused.
    auto nest = [](std::size_t arrays) {
        return R"({"success":true,"transaction":"","network":"eip155:1","extra":{"x":)" +
               std::string(arrays, '[') + std::string(arrays, ']') + "}}";
    };
    REQUIRE(parse_settle_response(nest(62)));
    auto deep = parse_settle_response(nest(63));
    REQUIRE_FALSE(deep);
    CHECK(deep.error().code == make_error_code(errc::invalid_json));
    // Brackets inside strings do not count.
    auto s = parse_settle_response(R"({"success":false,"errorReason":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[[[","transaction":"","network":"n"})");
    REQUIRE(s);
    CHECK(s->error_reason.substr(s->error_reason.size() - 5) == "\"[[[[");
}

TEST_CASE("settle responses: failure shape, batch extra, serialisation order", "[protocol][messages]") {
    auto failed = parse_settle_response(R"({"success":false,"errorReason":"insufficient_funds","errorMessage":null,
      "payer":null,"transaction":"","network":"eip155:84532"})");
    REQUIRE(failed);
    CHECK_FALSE(failed->success);
    CHECK(failed->error_reason == "insufficient_funds");
    CHECK(failed->transaction.empty());
    CHECK(serialize(*failed) ==
          R"({"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"})");

    auto batch = parse_settle_response(R"({"success":true,"transaction":"","network":"eip155:84532","amount":"900",
      "extra":{"chargedAmount":"900","channelState":{"channelId":"0x01","balance":"5000"}},"extensions":{"k":{}}})");
    REQUIRE(batch);
    REQUIRE(batch->amount);
    CHECK(*batch->amount == uint256(900));
    CHECK(batch->extra["channelState"]["balance"] == "5000");
    CHECK(serialize(*batch) ==
          R"({"success":true,"transaction":"","network":"eip155:84532","amount":"900","extensions":{"k":{}},"extra":{"chargedAmount":"900","channelState":{"channelId":"0x01","balance":"5000"}}})");
    auto round = decode_settle_response_header(encode_settle_response_header(*batch));
    REQUIRE(round);
    CHECK(round->raw.dump() == serialize(*batch));

    // A voucher-only answer from the official batch server: "amount":"" means no amount.
    auto voucher = parse_settle_response(R"({"success":true,"payer":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
      "transaction":"","network":"eip155:84532","amount":"","extra":{"chargedAmount":"900"}})");
    REQUIRE(voucher);
    CHECK_FALSE(voucher->amount);
    CHECK(voucher->extra["chargedAmount"] == "900");
    CHECK_FALSE(parse_settle_response(R"({"success":true,"transaction":"","network":"n","amount":" "})"));
}

TEST_CASE("verify responses parse and serialise", "[protocol][messages]") {
    auto bad = parse_verify_response(R"({"isValid":false,"invalidReason":"invalid_exact_evm_signature","invalidMessage":null,"payer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","extensions":null})");
    REQUIRE(bad);
    CHECK_FALSE(bad->is_valid);
    CHECK(bad->invalid_reason == "invalid_exact_evm_signature");
    CHECK(serialize(*bad) ==
          R"({"isValid":false,"invalidReason":"invalid_exact_evm_signature","payer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"})");
    verify_response ok;
    ok.is_valid = true;
    ok.extra = ojson::parse(R"({"channelState":{}})");
    CHECK(serialize(ok) == R"({"isValid":true,"extra":{"channelState":{}}})");
    auto again = parse_verify_response(serialize(ok));
    REQUIRE(again);
    CHECK(again->is_valid);
}

TEST_CASE("non-ASCII text survives a round trip as raw UTF-8, like JSON.stringify", "[protocol][messages]") {
    auto pr = parse_payment_required(
        "{\"x402Version\":2,\"resource\":{\"url\":\"https://a/\",\"description\":\"caf\\u00e9 \xe2\x82\xac\"},"
        "\"accepts\":[{\"scheme\":\"exact\",\"network\":\"eip155:1\",\"amount\":\"1\","
        "\"asset\":\"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\","
        "\"payTo\":\"0x209693Bc6afc0C5328bA36FaF03C514EF312287C\",\"maxTimeoutSeconds\":1}]}");
    REQUIRE(pr);
    auto p = make_payment_payload(*pr, pr->accepts[0], ojson::object());
    const std::string json = serialize(p);
    CHECK(json.find("\"description\":\"caf\xc3\xa9 \xe2\x82\xac\"") != std::string::npos);
}

TEST_CASE("parse_untrusted_json applies the size and depth limits", "[protocol][messages]") {
    auto ok = parse_untrusted_json(R"({"a":[1,{"b":null}]})", 100);
    REQUIRE(ok);
    CHECK(ok->dump() == R"({"a":[1,{"b":null}]})");
    auto big = parse_untrusted_json(std::string(101, ' '), 100, "facilitator body");
    REQUIRE_FALSE(big);
    CHECK(big.error().code == make_error_code(errc::too_large));
    CHECK(big.error().detail.rfind("facilitator body: ", 0) == 0);
    auto deep = parse_untrusted_json(std::string(65, '[') + std::string(65, ']'), 1000);
    REQUIRE_FALSE(deep);
    CHECK(deep.error().code == make_error_code(errc::invalid_json));
    CHECK(parse_untrusted_json(std::string(64, '[') + std::string(64, ']'), 1000));
}
