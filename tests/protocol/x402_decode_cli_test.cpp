// `purser x402 decode`, run as the real binary (PURSER_BIN).
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "purser/protocol/bytes.hpp"
#include "test_support.hpp"

namespace {

using ojson = nlohmann::ordered_json;

struct run_result {
    int code = -1;
    std::string out;
    std::string err;
};

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') {
            q += "'\\''";
        } else {
            q += c;
        }
    }
    return q + "'";
}

run_result decode(const std::vector<std::string>& args) {
    purser::test::temp_dir dir;
    std::string cmd = quote(PURSER_BIN) + " x402 decode";
    for (const auto& a : args) cmd += " " + quote(a);
    cmd += " > " + quote((dir.path() / "out").string()) + " 2> " + quote((dir.path() / "err").string()) +
           " < /dev/null";
    const int status = std::system(cmd.c_str());
    run_result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = purser::test::read_file(dir.path() / "out");
    r.err = purser::test::read_file(dir.path() / "err");
    return r;
}

ojson vectors(const std::string& name) {
    return ojson::parse(purser::test::read_file(std::string(PURSER_VECTORS_DIR) + "/" + name));
}

void write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("x402 decode: a PAYMENT-REQUIRED value prints pretty JSON with human amounts", "[protocol][cli]") {
    const ojson v = vectors("x402_headers.json");
    auto r = decode({v["payment_required"]["header_PAYMENT_REQUIRED"].get<std::string>()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.rfind("{\n  \"x402Version\": 2,\n  \"error\": \"Payment required\",", 0) == 0);
    ojson out = ojson::parse(r.out);
    CHECK(out["accepts"][0]["amountHuman"] == "0.001 USDC");
    // Apart from the annotation, it is the message as sent, in its order.
    out["accepts"][0].erase("amountHuman");
    CHECK(out.dump() == v["payment_required"]["json"].dump());
    CHECK(r.err.find("payment required (x402 v2)") != std::string::npos);
}

TEST_CASE("x402 decode: header lines and files of header lines", "[protocol][cli]") {
    const ojson v = vectors("official_client.json");
    purser::test::temp_dir dir;
    const auto file = dir.path() / "sig.txt";
    write(file, "Payment-Signature: " + v["cases"][0]["headers"]["PAYMENT-SIGNATURE"].get<std::string>() + "\r\n");
    auto r = decode({file.string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const ojson out = ojson::parse(r.out);
    CHECK(out["payload"]["authorization"]["valueHuman"] == "0.01 USDC");
    CHECK(out["accepted"]["amountHuman"] == "0.01 USDC");
    CHECK(out["payload"]["signature"] == v["cases"][0]["payment_payload"]["payload"]["signature"]);

    auto v1 = decode({"X-PAYMENT: " + v["cases"][1]["headers"]["X-PAYMENT"].get<std::string>()});
    INFO(v1.err);
    REQUIRE(v1.code == 0);
    const ojson p1 = ojson::parse(v1.out);
    CHECK(p1.dump() == v["cases"][1]["payment_payload"].dump());  // v1 names no asset: no annotation
    CHECK(v1.err.find("(x402 v1)") != std::string::npos);
}

TEST_CASE("x402 decode: raw JSON of each message kind is auto-detected", "[protocol][cli]") {
    const ojson v = vectors("official_client.json");
    purser::test::temp_dir dir;
    const auto body = dir.path() / "402.json";
    write(body, v["cases"][1]["payment_required"].dump(2));
    auto r = decode({body.string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(ojson::parse(r.out)["accepts"][0]["maxAmountRequiredHuman"] == "0.01 USDC");

    auto settle = decode({R"({"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"})"});
    REQUIRE(settle.code == 0);
    CHECK(ojson::parse(settle.out)["errorReason"] == "insufficient_funds");
    CHECK(settle.err.find("settle response") != std::string::npos);

    const ojson h = vectors("x402_headers.json");
    auto settle_header = decode({"PAYMENT-RESPONSE: " + h["settlement_response"]["header_PAYMENT_RESPONSE"].get<std::string>()});
    REQUIRE(settle_header.code == 0);
    CHECK(ojson::parse(settle_header.out).dump() == h["settlement_response"]["json"].dump());

    auto verify = decode({R"({"isValid":true,"payer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"})"});
    REQUIRE(verify.code == 0);
    CHECK(ojson::parse(verify.out)["isValid"] == true);
}

TEST_CASE("x402 decode: unknown tokens get no human amount unless --networks names them", "[protocol][cli]") {
    const std::string required = R"({"x402Version":1,"error":"","accepts":[{"scheme":"exact","network":"purser-testnet",
      "maxAmountRequired":"1500000000000000000","resource":"http://127.0.0.1/x","description":"",
      "payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,
      "asset":"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"}]})";
    auto plain = decode({required});
    REQUIRE(plain.code == 0);
    CHECK_FALSE(ojson::parse(plain.out)["accepts"][0].contains("maxAmountRequiredHuman"));

    purser::test::temp_dir dir;
    const auto nets = dir.path() / "networks.json";
    write(nets, R"([{"caip2":"eip155:31337","chainId":31337,"v1Name":"purser-testnet","assets":[
      {"address":"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512","symbol":"WETH","decimals":18}]}])");
    auto with = decode({"--networks", nets.string(), required});
    INFO(with.err);
    REQUIRE(with.code == 0);
    CHECK(ojson::parse(with.out)["accepts"][0]["maxAmountRequiredHuman"] == "1.5 WETH");
}

TEST_CASE("x402 decode: bad input exits 1 with the reason on stderr and nothing on stdout", "[protocol][cli]") {
    // Six '>' and six '?' in a row always produce '+' and '/' in standard base64.
    std::string url_safe = purser::protocol::base64_encode(
        std::string(R"({"success":true,"transaction":">>>>>> ??????","network":"eip155:1"})"));
    bool changed = false;
    for (char& c : url_safe) {
        if (c == '+' || c == '/') {
            c = c == '+' ? '-' : '_';
            changed = true;
        }
    }
    REQUIRE(changed);
    struct bad {
        std::string input;
        std::string message;
    };
    const std::vector<bad> cases = {
        {url_safe, "invalid base64"},
        {"PAYMENT-REQUIRED: !!!!", "PAYMENT-REQUIRED header"},
        {"Authorization: Bearer x", "not an x402 header"},
        {R"({"foo":1})", "cannot tell which x402 message"},
        {R"({"x402Version":1,"accepts":[{"scheme":"exact","network":"base","maxAmountRequired":"1.5"}]})", "accepts[0].maxAmountRequired"},
        {R"({"x402Version":2,"accepts":[]})", "accepts"},
        {"{\"payload\":", "invalid JSON"},
        {std::string(200, '['), "invalid base64"},
        {"{\"a\":" + std::string(200, '['), "nested deeper than 64"},
        {"   ", "nothing to decode"},
    };
    for (const auto& c : cases) {
        INFO(c.input.substr(0, 80));
        auto r = decode({c.input});
        CHECK(r.code == 1);
        CHECK(r.out.empty());
        CHECK(r.err.find(c.message) != std::string::npos);
        CHECK(r.err.rfind("purser: ", 0) == 0);
    }
    auto none = decode({});
    CHECK(none.code == 2);
    CHECK(none.err.find("usage: purser x402 decode") != std::string::npos);
}
