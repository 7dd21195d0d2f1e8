#include "purser/protocol/messages.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/errc.hpp"
#include "test_support.hpp"

using namespace purser::protocol;

namespace {

// load_vectors gives nlohmann::json, which sorts keys; byte-exact echoes need the file's order.
ojson load_ordered(const std::string& name) {
    return ojson::parse(purser::test::read_file(std::string(PURSER_VECTORS_DIR) + "/" + name));
}

std::string compact(const ojson& j) { return j.dump(); }

}  // namespace

TEST_CASE("x402_headers: PAYMENT-REQUIRED decodes and re-encodes byte for byte", "[protocol][messages]") {
    const ojson v = load_ordered("x402_headers.json");
    const std::string header = v["payment_required"]["header_PAYMENT_REQUIRED"];
    auto pr = decode_payment_required_header(header);
    REQUIRE(pr);
    CHECK(pr->x402_version == 2);
    CHECK(pr->error == "Payment required");
    REQUIRE(pr->resource);
    CHECK(pr->resource->url == "http://127.0.0.1:4021/weather");
    CHECK(pr->resource->description == "Weather");
    CHECK(pr->resource->mime_type == "application/json");
    REQUIRE(pr->accepts.size() == 1);
    const auto& a = pr->accepts[0];
    CHECK(a.scheme == "exact");
    CHECK(a.network == "eip155:84532");
    CHECK(a.amount == uint256(1000));
    CHECK(a.asset == "0x036CbD53842c5426634e7929541eC2318f3dCF7e");
    CHECK(a.pay_to == "0x209693Bc6afc0C5328bA36FaF03C514EF312287C");
    CHECK(a.max_timeout_seconds == 60);
    CHECK(a.extra == ojson::parse(R"({"name":"USDC","version":"2"})"));
    CHECK(pr->extensions.is_null());
    CHECK(pr->raw == v["payment_required"]["json"]);
    CHECK(base64_encode(compact(pr->raw)) == header);

    // The same terms as a v2 header through read_payment_required: the header wins over any body.
    auto read = read_payment_required(std::string_view(header), "{}");
    REQUIRE(read);
    CHECK(compact(read->raw) == compact(pr->raw));
}

TEST_CASE("x402_headers: PAYMENT-SIGNATURE decodes and re-encodes byte for byte", "[protocol][messages]") {
    const ojson v = load_ordered("x402_headers.json");
    const std::string header = v["payment_payload"]["header_PAYMENT_SIGNATURE"];
    auto p = decode_payment_header(header);
    REQUIRE(p);
    CHECK(p->x402_version == 2);
    CHECK(p->scheme == "exact");
    CHECK(p->network == "eip155:84532");
    CHECK(p->accepted == v["payment_payload"]["json"]["accepted"]);
    CHECK(p->resource == v["payment_payload"]["json"]["resource"]);
    CHECK(p->payload["signature"] == v["payment_payload"]["json"]["payload"]["signature"]);
    CHECK(p->extensions.is_null());
    // This vector uses the spec's key order (resource before accepted); raw keeps it.
    CHECK(base64_encode(compact(p->raw)) == header);
}

TEST_CASE("x402_headers: PAYMENT-RESPONSE decodes and re-encodes byte for byte", "[protocol][messages]") {
    const ojson v = load_ordered("x402_headers.json");
    const std::string header = v["settlement_response"]["header_PAYMENT_RESPONSE"];
    auto r = decode_settle_response_header(header);
    REQUIRE(r);
    CHECK(r->success);
    CHECK(r->transaction == "0xabababababababababababababababababababababababababababababababab");
    CHECK(r->network == "eip155:84532");
    CHECK(r->payer == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    CHECK_FALSE(r->amount);
    CHECK(base64_encode(compact(r->raw)) == header);
    // serialize() puts payer before transaction (the official field order), so compare values.
    auto again = parse_settle_response(serialize(*r));
    REQUIRE(again);
    CHECK(nlohmann::json::parse(compact(again->raw)) ==
          nlohmann::json::parse(compact(v["settlement_response"]["json"])));
}

TEST_CASE("official_client: payment headers equal the official client's byte for byte", "[protocol][messages]") {
    const ojson v = load_ordered("official_client.json");
    REQUIRE(v["cases"].size() == 2);
    for (const auto& c : v["cases"]) {
        INFO(c["label"].get<std::string>());
        const std::string required_text = compact(c["payment_required"]);
        const int version = c["payment_required"]["x402Version"];
        // v2 arrives as a header, v1 as the 402 body.
        auto required = version == 2
                            ? read_payment_required(std::string_view(base64_encode(required_text)), "{}")
                            : read_payment_required(std::nullopt, required_text);
        REQUIRE(required);
        REQUIRE(required->x402_version == version);
        auto p = make_payment_payload(*required, required->accepts[0], c["payment_payload"]["payload"]);
        const std::string name(payment_header_name(version));
        CHECK(name == (version == 2 ? "PAYMENT-SIGNATURE" : "X-PAYMENT"));
        CHECK(serialize(p) == compact(c["payment_payload"]));
        CHECK(encode_payment_header(p) == c["headers"][name].get<std::string>());

        // And the server side: decoding our header gives back the same payload.
        auto back = decode_payment_header(encode_payment_header(p));
        REQUIRE(back);
        CHECK(back->x402_version == version);
        CHECK(back->scheme == "exact");
        CHECK(compact(back->raw) == compact(c["payment_payload"]));
    }
}

TEST_CASE("official_client: a v1 payload built by hand serialises in v1 key order", "[protocol][messages]") {
    const ojson v = load_ordered("official_client.json");
    const auto& c = v["cases"][1];
    payment_payload p;
    p.x402_version = 1;
    p.scheme = "exact";
    p.network = "base-sepolia";
    p.payload = c["payment_payload"]["payload"];
    // v2-only members are ignored for v1.
    p.accepted = ojson::parse(R"({"ignored":true})");
    CHECK(encode_payment_header(p) == c["headers"]["X-PAYMENT"].get<std::string>());
}
