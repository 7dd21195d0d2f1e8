// The hand-written head and chunk framing against Beast's serializer: the bytes an agent receives
// must not change with the writer.
#include <string>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include "../../fuzz/heads_target.hpp"
#include "purser/proxy/detail/wire_head.hpp"

namespace http = boost::beast::http;
using purser::proxy::detail::append_response_head;

namespace {

/// What Beast's serializer writes for a message's head: the fuzz target's reference too.
using purser::fuzz::heads_detail::beast_head;

std::string ours(const http::response<http::empty_body>& res) {
    std::string out = "left alone|";
    append_response_head(out, res.base());
    REQUIRE(out.rfind("left alone|", 0) == 0);  // appended, never overwritten
    return out.substr(11);
}

}  // namespace

TEST_CASE("a response head is written byte for byte as Beast writes it", "[proxy]") {
    SECTION("fields in order, duplicates kept, the origin's reason phrase") {
        http::response<http::empty_body> res{http::status::ok, 11};
        res.reason("Fine Thanks");
        res.set(http::field::server, "nginx");
        res.insert(http::field::set_cookie, "a=1");
        res.insert("X-Custom", "value with  spaces");
        res.insert(http::field::set_cookie, "b=2");
        res.set(http::field::content_length, "1024");
        res.insert("Purser-Remaining", "");
        CHECK(ours(res) == beast_head(res));
        CHECK(ours(res).find("HTTP/1.1 200 Fine Thanks\r\n") == 0);
    }
    SECTION("no reason phrase: the standard one") {
        for (const auto status : {http::status::payment_required, http::status::not_found,
                                  http::status::no_content, http::status::bad_gateway}) {
            http::response<http::empty_body> res{status, 11};
            res.set(http::field::via, "1.1 purser");
            CHECK(ours(res) == beast_head(res));
        }
        http::response<http::empty_body> unknown{static_cast<http::status>(599), 11};
        CHECK(ours(unknown) == beast_head(unknown));
    }
    SECTION("HTTP/1.0 and no fields") {
        http::response<http::empty_body> res{http::status::ok, 10};
        CHECK(ours(res) == beast_head(res));
        CHECK(ours(res) == "HTTP/1.0 200 OK\r\n\r\n");
    }
    SECTION("a parsed response, as the relay writes it") {
        http::response_parser<http::empty_body> p;
        p.skip(true);
        boost::system::error_code ec;
        const std::string wire =
            "HTTP/1.1 402 Payment Required\r\nContent-Type: application/json\r\n"
            "X-Odd-Case: MiXeD\r\ncontent-length: 0\r\n\r\n";
        p.put(boost::asio::buffer(wire), ec);
        REQUIRE_FALSE(ec);
        auto res = p.release();
        CHECK(ours(res) == beast_head(res));
        CHECK(ours(res) == wire);
    }
}

TEST_CASE("chunk framing: hex size lines, CRLF after the data, one last chunk", "[proxy]") {
    using purser::proxy::detail::append_chunk_framing;
    std::string out;
    CHECK(append_chunk_framing(out, 1, false) == "\r\n");
    CHECK(append_chunk_framing(out, 0x3fa, false) == "\r\n");
    CHECK(append_chunk_framing(out, 65536, true) == "\r\n0\r\n\r\n");
    CHECK(out == "1\r\n3fa\r\n10000\r\n");
    // An empty piece: nothing in the middle of a body, the last chunk at its end.
    CHECK(append_chunk_framing(out, 0, false).empty());
    CHECK(out == "1\r\n3fa\r\n10000\r\n");
    CHECK(append_chunk_framing(out, 0, true).empty());
    CHECK(out == "1\r\n3fa\r\n10000\r\n0\r\n\r\n");
}

TEST_CASE("a request head is written byte for byte as Beast writes it", "[proxy]") {
    const auto ours_request = [](const http::request<http::empty_body>& req) {
        std::string out;
        purser::proxy::detail::append_request_head(out, req.base());
        return out;
    };
    http::request<http::empty_body> get{http::verb::get, "/weather?city=x", 11};
    get.set(http::field::host, "api.merchant.test:8443");
    get.insert("PAYMENT-SIGNATURE", "eyJ4NDAyVmVyc2lvbiI6Mn0=");
    get.set(http::field::via, "1.1 purser");
    CHECK(ours_request(get) == beast_head(get));
    CHECK(ours_request(get).find("GET /weather?city=x HTTP/1.1\r\nHost: api.merchant.test:8443\r\n") == 0);

    // A method Beast has no name for keeps its own spelling.
    http::request<http::empty_body> custom;
    custom.method_string("PURGE");
    custom.target("*");
    custom.version(10);
    CHECK(ours_request(custom) == beast_head(custom));
    CHECK(ours_request(custom) == "PURGE * HTTP/1.0\r\n\r\n");
}
