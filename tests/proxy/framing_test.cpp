// Request framing (docs/framing.md): which Transfer-Encoding / Content-Length combinations the
// proxy refuses, and, end to end, the exact bytes an origin receives for those it forwards.
#include "purser/proxy/detail/framing.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"
#include "test_origin.hpp"

using purser::proxy::config;
using purser::proxy::detail::check_request_framing;
using purser::proxy::detail::forwarded_transfer_encoding;
using purser::proxy::detail::is_framing_look_alike;
using purser::proxy::test_support::proxy_fixture;
using purser::proxy::test_support::recording_hook;
using purser::proxy::test_support::url;
using purser::test::request_recording_origin;

namespace {

/// The status check_request_framing answers, 0 when the request may be forwarded.
unsigned status_of(std::vector<std::string_view> te, bool content_length = false) {
    const auto r = check_request_framing(te, content_length);
    return r ? r->status : 0;
}

/// The Transfer-Encoding fields of every Compliant case of the http-desync-guardian corpus whose
/// coding list is more than a bare `chunked` (more-compliant-tests.yaml, rfc-compliant.yaml),
/// and the value the proxy forwards in their place.
struct corpus_coding {
    const char* corpus_case;
    std::vector<std::string> fields;
    const char* forwarded;
};
const std::vector<corpus_coding> compliant_codings = {
    {"Correct TE OK", {" gzip, chunked"}, "gzip, chunked"},
    {"Transfer-Encoding: identity and chunked OK",
     {" deflate, identity, chunked"},
     "deflate, chunked"},
    {"Multiple transfer encoding headers in a single request OK",
     {" gzip", " deflate", " identity", " compress", " chunked"},
     "gzip, deflate, compress, chunked"},
    {"TE with custom parameters OK", {" \t\t\t\tchunked;custom_param;\t\t\t\t"}, "chunked"},
    {"Different Transfer-Encoding headers",
     {"gzip", "deflate", "identity", "compress", "chunked"},
     "gzip, deflate, compress, chunked"},
    {"Different Transfer-Encoding headers combined",
     {"gzip , deflate , \tidentity\t, compress\t, chunked"},
     "gzip, deflate, compress, chunked"},
    {"Transfer-Encoding with a param: chunked;custom_param",
     {"   gzip   ;   ", "deflate\t\t;\t\t", "\t\t\t\tchunked;custom_param;\t\t\t\t"},
     "gzip, deflate, chunked"},
};

std::vector<std::string_view> views(const std::vector<std::string>& fields) {
    return {fields.begin(), fields.end()};
}

std::string te_fields(const std::vector<std::string>& fields) {
    std::string out;
    for (const auto& f : fields) out += "Transfer-Encoding: " + f + "\r\n";
    return out;
}

/// A POST through the proxy as agent bot, up to (not including) its framing fields.
std::string post_head(std::uint16_t origin_port) {
    return "POST " + url(origin_port, "/te") +
           " HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic Ym90OnRvazNu\r\n";
}

const std::string agent_body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";  // "hello world"

std::string ok_answer(const std::string&) {
    return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
}

std::string head_of(const std::string& request) {
    return request.substr(0, request.find("\r\n\r\n") + 4);
}

/// The request's body with its chunking undone, by Beast's parser (the one the proxy uses).
std::string decoded_body(const std::string& request) {
    namespace http = purser::test::http;
    http::request_parser<http::string_body> p;
    p.eager(true);
    boost::asio::const_buffer in(request.data(), request.size());
    boost::system::error_code ec;
    while (!p.is_done() && in.size() != 0 && !ec) in += p.put(in, ec);
    INFO(ec.message());
    REQUIRE(p.is_done());
    return p.get().body();
}

}  // namespace

TEST_CASE("framing: no Transfer-Encoding, or a final chunked, is forwarded", "[proxy]") {
    CHECK(status_of({}) == 0);
    CHECK(status_of({}, true) == 0);  // Content-Length alone
    CHECK(status_of({"chunked"}) == 0);
    CHECK(status_of({"Chunked"}) == 0);
    CHECK(status_of({" CHUNKED\t"}) == 0);
    CHECK(status_of({", chunked ,"}) == 0);      // empty list elements carry nothing
    CHECK(status_of({"gzip", "chunked"}) == 0);  // two fields, joined in order
    CHECK(status_of({"chunked;q=1"}) == 0);      // chunked's parameters go with its decoding
    for (const auto& c : compliant_codings) {
        INFO(c.corpus_case);
        CHECK(status_of(views(c.fields)) == 0);
    }
}

TEST_CASE("framing: Content-Length next to Transfer-Encoding is refused with 400", "[proxy]") {
    CHECK(status_of({"chunked"}, true) == 400);
    CHECK(status_of({"gzip"}, true) == 400);
    CHECK(status_of({"gzip, chunked"}, true) == 400);
    CHECK(check_request_framing({"chunked"}, true)->why.find("Content-Length") !=
          std::string::npos);
}

TEST_CASE("framing: chunked that is not final, no coding, or a coding that is no token is a 400",
          "[proxy]") {
    CHECK(status_of({"chunked, gzip"}) == 400);
    CHECK(status_of({"chunked", "gzip"}) == 400);
    CHECK(status_of({"chunked, chunked"}) == 400);  // chunked applied twice
    CHECK(status_of({"chunked;q=1, gzip;q=1"}) == 400);
    CHECK(status_of({""}) == 400);
    CHECK(status_of({" , "}) == 400);
    CHECK(status_of({"\"gzip\", chunked"}) == 400);
    CHECK(status_of({"gzip/1, chunked"}) == 400);
    // A quoted comma splits the element: what is left is no token, so never a misread list.
    CHECK(status_of({"gzip;x=\"a,b\", chunked"}) == 400);
}

TEST_CASE("framing: a final coding other than chunked, or a parameter under chunked, is 501",
          "[proxy]") {
    for (const auto* te : {"gzip", "deflate", "compress", "identity", "xchunked", "chunk", "GZIP",
                           "gzip;level=1, chunked"}) {
        INFO(te);
        CHECK(status_of({te}) == 501);
    }
    CHECK(status_of({"chunked", "identity"}) == 400);
    const auto r = check_request_framing({"xchunked"}, false);
    REQUIRE(r);
    CHECK(r->why == "final transfer coding 'xchunked' is not implemented");
    CHECK(check_request_framing({"gzip;level=1, chunked"}, false)->why ==
          "parameters on transfer coding 'gzip' are not implemented");
    const std::string long_coding(200, 'x');
    CHECK(check_request_framing({long_coding}, false)->why.size() < 100);
}

TEST_CASE("framing: the coding list forwarded keeps what the origin must undo, then chunked",
          "[proxy]") {
    CHECK(forwarded_transfer_encoding({"chunked"}) == "chunked");
    CHECK(forwarded_transfer_encoding({"GZIP, Chunked"}) == "gzip, chunked");
    CHECK(forwarded_transfer_encoding({"identity, chunked"}) == "chunked");
    for (const auto& c : compliant_codings) {
        INFO(c.corpus_case);
        CHECK(forwarded_transfer_encoding(views(c.fields)) == c.forwarded);
    }
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

TEST_CASE("framing: refused Transfer-Encodings never reach the origin", "[proxy]") {
    request_recording_origin origin(ok_answer);
    proxy_fixture proxy;
    struct refused_case {
        const char* headers;
        const char* status;
    };
    for (const auto& c : {
             refused_case{"Transfer-Encoding: gzip\r\n", "501"},
             refused_case{"Transfer-Encoding: deflate\r\n", "501"},
             refused_case{"Transfer-Encoding: identity\r\n", "501"},
             refused_case{"Transfer-Encoding: xchunked\r\n", "501"},
             refused_case{"Transfer-Encoding: chunk\r\n", "501"},
             refused_case{"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", "400"},
             refused_case{"Transfer-Encoding: gzip;level=1, chunked\r\n", "501"},
             refused_case{"Transfer-Encoding: \"gzip\", chunked\r\n", "400"},
             refused_case{"Transfer-Encoding: chunked, gzip\r\n", "400"},
             refused_case{"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", "400"},
             refused_case{"Transfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n", "400"},
             refused_case{"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "400"},
             refused_case{"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "400"},
         }) {
        INFO(c.headers);
        const auto out = purser::test::raw_exchange(
            proxy.port, post_head(origin.port()) + c.headers + "\r\n" + agent_body);
        CHECK(out.rfind("HTTP/1.1 " + std::string(c.status), 0) == 0);
        CHECK(out.find("\r\n\r\npurser: ") != std::string::npos);  // one plain-text line
        CHECK(out.find("Connection: close") != std::string::npos);
    }
    CHECK(origin.requests().empty());
}

TEST_CASE("framing: exactly chunked arrives re-framed by length, byte for byte", "[proxy]") {
    request_recording_origin origin(ok_answer);
    proxy_fixture proxy;
    const auto out = purser::test::raw_exchange(
        proxy.port, post_head(origin.port()) + "Transfer-Encoding: Chunked\r\n\r\n" + agent_body);
    CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    const auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(head_of(reqs[0]).find("Transfer-Encoding") == std::string::npos);
    CHECK(head_of(reqs[0]).find("\r\nContent-Length: 11\r\n") != std::string::npos);
    CHECK(reqs[0].substr(head_of(reqs[0]).size()) == "hello world");
}

TEST_CASE(
    "framing: every Compliant coding list ending in chunked is served, re-framed by the proxy",
    "[proxy]") {
    request_recording_origin origin(ok_answer);
    proxy_fixture proxy;
    for (std::size_t i = 0; i < compliant_codings.size(); ++i) {
        const auto& c = compliant_codings[i];
        INFO(c.corpus_case);
        const auto out = purser::test::raw_exchange(
            proxy.port, post_head(origin.port()) + te_fields(c.fields) + "\r\n" + agent_body);
        CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
        const auto reqs = origin.requests();
        REQUIRE(reqs.size() == i + 1);
        const auto head = head_of(reqs[i]);
        INFO(reqs[i]);
        if (std::string(c.forwarded) == "chunked") {
            // Nothing left for the origin to undo: re-framed by length, as a bare chunked is.
            CHECK(head.find("Transfer-Encoding") == std::string::npos);
            CHECK(head.find("\r\nContent-Length: 11\r\n") != std::string::npos);
            CHECK(reqs[i].substr(head.size()) == "hello world");
            continue;
        }
        // One Transfer-Encoding field, the proxy's spelling, and no Content-Length beside it.
        CHECK(head.find("\r\nTransfer-Encoding: " + std::string(c.forwarded) + "\r\n") !=
              std::string::npos);
        CHECK(purser::proxy::test_support::count_of(head, "Transfer-Encoding") == 1);
        CHECK(head.find("Content-Length") == std::string::npos);
        // The body buffered and sent again as one chunk: what a paid retry repeats.
        CHECK(reqs[i].substr(head.size()) == "b\r\nhello world\r\n0\r\n\r\n");
    }
}

TEST_CASE("framing: an empty gzip-then-chunked body goes out as no body at all", "[proxy]") {
    request_recording_origin origin(ok_answer);
    proxy_fixture proxy;
    const auto out = purser::test::raw_exchange(
        proxy.port, post_head(origin.port()) + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
    CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    const auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);  // no empty chunk the origin could read as a second request
    INFO(reqs[0]);
    CHECK(reqs[0].find("Transfer-Encoding") == std::string::npos);
    CHECK(reqs[0].size() == head_of(reqs[0]).size());
    CHECK(head_of(reqs[0]).find("\r\nContent-Length: 0\r\n") != std::string::npos);
}

TEST_CASE("framing: the upstream connection of a gzip-then-chunked request is not pooled",
          "[proxy]") {
    request_recording_origin origin(ok_answer);
    proxy_fixture proxy;
    // An origin that reads only a bare `chunked` could take this body for a next request: the
    // proxy closes the connection rather than let another agent's request follow on it.
    const auto out = purser::test::raw_exchange(
        proxy.port,
        post_head(origin.port()) + "Transfer-Encoding: gzip, chunked\r\n\r\n" + agent_body);
    CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(origin.wait_closed(1));
    const auto next = purser::test::raw_exchange(
        proxy.port, post_head(origin.port()) + "Content-Length: 2\r\n\r\nhi");
    CHECK(next.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(origin.connections() == 2);
}

TEST_CASE("framing: a gzip-then-chunked body past max_replay_body streams under the same coding",
          "[proxy]") {
    request_recording_origin origin(ok_answer);
    proxy_fixture proxy([](config& c) { c.max_replay_body = 4; });
    const auto out = purser::test::raw_exchange(
        proxy.port, post_head(origin.port()) +
                        "Transfer-Encoding: gzip\r\n"
                        "Transfer-Encoding: chunked;custom_param\r\n\r\n" +
                        agent_body);
    CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    const auto reqs = origin.requests();
    REQUIRE(reqs.size() == 1);
    INFO(reqs[0]);
    const auto head = head_of(reqs[0]);
    CHECK(head.find("\r\nTransfer-Encoding: gzip, chunked\r\n") != std::string::npos);
    CHECK(head.find("Content-Length") == std::string::npos);
    CHECK(decoded_body(reqs[0]) == "hello world");
}

TEST_CASE("framing: a paid retry of a gzip-then-chunked request repeats its bytes exactly",
          "[proxy]") {
    request_recording_origin origin([](const std::string& request) -> std::string {
        if (request.find("\r\nX-PAYMENT: ") == std::string::npos)
            return "HTTP/1.1 402 Payment Required\r\nContent-Type: application/json\r\n"
                   "Content-Length: 30\r\n\r\n{\"x402Version\":1,\"accepts\":[]}";
        return ok_answer(request);
    });
    auto hook = std::make_shared<recording_hook>();
    proxy_fixture proxy({}, hook);
    const auto out = purser::test::raw_exchange(
        proxy.port,
        post_head(origin.port()) + "Transfer-Encoding: gzip, chunked\r\n\r\n" + agent_body);
    CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    const auto reqs = origin.requests();
    REQUIRE(reqs.size() == 2);
    INFO(reqs[0] << "\n----\n" << reqs[1]);
    const std::string payment_line = "X-PAYMENT: c2lnbmVk\r\n";
    const auto at = reqs[1].find(payment_line);
    REQUIRE(at != std::string::npos);
    CHECK(reqs[1].substr(0, at) + reqs[1].substr(at + payment_line.size()) == reqs[0]);
    CHECK(head_of(reqs[0]).find("\r\nTransfer-Encoding: gzip, chunked\r\n") != std::string::npos);
}
