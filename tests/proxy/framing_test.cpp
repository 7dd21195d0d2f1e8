#include "purser/proxy/detail/framing.hpp"

#include <catch2/catch.hpp>

using purser::proxy::detail::check_request_framing;
using purser::proxy::detail::is_framing_look_alike;

namespace {

/// The status check_request_framing answers, 0 when the request may be forwarded.
unsigned status_of(std::vector<std::string_view> te, bool content_length = false) {
    const auto r = check_request_framing(te, content_length);
    return r ? r->status : 0;
}

}  // namespace

TEST_CASE("framing: no Transfer-Encoding, or exactly chunked, is forwarded", "[proxy]") {
    CHECK(status_of({}) == 0);
    CHECK(status_of({}, true) == 0);  // Content-Length alone
    CHECK(status_of({"chunked"}) == 0);
    CHECK(status_of({"Chunked"}) == 0);
    CHECK(status_of({" CHUNKED\t"}) == 0);
    CHECK(status_of({", chunked ,"}) == 0);  // empty list elements carry nothing
}

TEST_CASE("framing: Content-Length next to Transfer-Encoding is refused with 400", "[proxy]") {
    CHECK(status_of({"chunked"}, true) == 400);
    CHECK(status_of({"gzip"}, true) == 400);
    CHECK(check_request_framing({"chunked"}, true)->why.find("Content-Length") !=
          std::string::npos);
}

TEST_CASE("framing: chunked that is not final, or no coding at all, is a 400", "[proxy]") {
    CHECK(status_of({"chunked, gzip"}) == 400);
    CHECK(status_of({"chunked", "gzip"}) == 400);
    CHECK(status_of({"chunked, chunked"}) == 400);  // chunked applied twice
    CHECK(status_of({""}) == 400);
    CHECK(status_of({" , "}) == 400);
}

TEST_CASE("framing: codings other than chunked are not implemented (501)", "[proxy]") {
    for (const auto* te : {"gzip", "deflate", "compress", "identity", "xchunked", "chunk",
                           "chunked;q=1", "gzip, chunked", "GZIP,chunked"}) {
        INFO(te);
        CHECK(status_of({te}) == 501);
    }
    CHECK(status_of({"gzip", "chunked"}) == 501);  // two fields, joined in order
    const auto r = check_request_framing({"xchunked"}, false);
    REQUIRE(r);
    CHECK(r->why == "transfer coding 'xchunked' is not implemented; only chunked is");
    const std::string long_coding(200, 'x');
    CHECK(check_request_framing({long_coding}, false)->why.size() < 100);
}

TEST_CASE("framing: look-alikes of the framing header names", "[proxy]") {
    CHECK(is_framing_look_alike("Content_Length"));
    CHECK(is_framing_look_alike("Transfer_Encoding"));
    CHECK(is_framing_look_alike("Transfer---Encoding"));
    CHECK(is_framing_look_alike("transfer__encoding"));
    CHECK(is_framing_look_alike("Content-Length "));
    CHECK(is_framing_look_alike("Content-Length_"));
    CHECK(is_framing_look_alike("_content_length"));
    CHECK_FALSE(is_framing_look_alike("Content-Length"));
    CHECK_FALSE(is_framing_look_alike("TRANSFER-ENCODING"));
    CHECK_FALSE(is_framing_look_alike("Content_Type"));
    CHECK_FALSE(is_framing_look_alike("X_Content_Length"));
}
