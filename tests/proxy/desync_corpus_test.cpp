// Every case of the http-desync-guardian corpus (shared/corpora, beside the repository; read in
// place, never copied in) sent through the proxy to a recording origin. What must hold: no
// request reaches the origin with both Content-Length and Transfer-Encoding, the origin parses
// exactly as many requests as the proxy answered from it (nothing smuggled, nothing swallowed),
// and no Compliant case is refused. A second test has two agents share the pooled upstream
// connection around every case and checks that neither receives the other's answer. The YAML is
// turned into JSON by python3 with PyYAML, which the CI image has; without the corpus or PyYAML
// the tests warn and check nothing.
#include <sys/socket.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"
#include "test_origin.hpp"

using purser::proxy::config;
using purser::proxy::test_support::count_of;
using purser::proxy::test_support::proxy_fixture;
using purser::test::request_recording_origin;
using purser::test::tcp;
using purser::test::to_lower;

namespace {

constexpr const char* to_json_py = R"(
import glob, json, os, sys, yaml
def enc(s):
    # \xNN escapes in the corpus are code points up to 0xff: send them as those bytes.
    return ("" if s is None else str(s)).encode("latin-1", "replace").hex()
out = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    for c in yaml.safe_load(open(f, encoding="utf-8")) or []:
        out.append({"file": os.path.basename(f), "name": c["name"],
                    "tier": c["expected"]["tier"], "reason": c["expected"].get("reason", ""),
                    "method": enc(c.get("method")), "uri": enc(c.get("uri")),
                    "version": enc(c.get("version")),
                    "headers": [[enc(h.get("name")), enc(h.get("value"))]
                                for h in c.get("headers") or []]})
print(json.dumps(out))
)";

std::string unhex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// The case as bytes, with a body its own framing headers (if sane) would expect, so a proxy
/// that forwards it does not wait for bytes that never come.
std::string request_bytes(const nlohmann::json& c, std::uint16_t origin_port) {
    const auto version = unhex(c["version"]);
    std::string out = unhex(c["method"]) + " http://127.0.0.1:" + std::to_string(origin_port) +
                      unhex(c["uri"]) + (version.empty() ? "" : " " + version) + "\r\n";
    std::string body;
    for (const auto& h : c["headers"]) {
        const auto name = unhex(h[0]);
        const auto value = unhex(h[1]);
        out += name + ": " + value + "\r\n";
        const auto n = to_lower(trim(name));
        const auto v = trim(value);
        if (n == "transfer-encoding") body = "0\r\n\r\n";
        if (n == "content-length" && body.empty() && !v.empty() && v.size() < 8 &&
            std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
            body = std::string(std::stoul(v), 'a');
    }
    return out + "\r\n" + body;
}

/// Sends the case on a new connection, half-closes, and reads until the proxy closes.
std::string send_case(std::uint16_t proxy_port, const std::string& bytes) {
    purser::test::net::io_context io;
    tcp::socket s(io);
    s.connect({purser::test::net::ip::make_address("127.0.0.1"), proxy_port});
    timeval tv{10, 0};  // only keeps a broken proxy from hanging the test
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    boost::system::error_code ec;
    purser::test::net::write(s, purser::test::net::buffer(bytes), ec);
    s.shutdown(tcp::socket::shutdown_send, ec);
    std::string out;
    char buf[4096];
    for (;;) {
        const auto n = s.read_some(purser::test::net::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
    }
    return out;
}

/// Counted in what the agent receives: HEAD answers have no body to count.
constexpr const char* origin_marker = "\r\nX-Origin: desync-test\r\n";

/// The origin's answer to one request it parsed: its body names that request by its request
/// line, so an agent that receives another request's answer can tell.
std::string answer_naming(const std::string& request) {
    const auto body = "answer to " + request.substr(0, request.find("\r\n"));
    return "HTTP/1.1 200 OK\r\nX-Origin: desync-test\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// The corpus cases as JSON, or nullopt (with a warning) when the corpus or PyYAML is absent.
std::optional<nlohmann::json> load_corpus() {
    const std::filesystem::path corpus = PURSER_DESYNC_CORPUS;
    if (!std::filesystem::is_directory(corpus)) {
        WARN("desync corpus not found at " + corpus.string() + ": skipped");
        return std::nullopt;
    }
    purser::test::temp_dir tmp;
    const auto script = tmp.path() / "to_json.py";
    std::ofstream(script) << to_json_py;
    const auto converted = purser::test::run_shell("python3 '" + script.string() + "' '" +
                                                   corpus.string() + "' 2>/dev/null");
    if (converted.exit_code != 0) {
        WARN("python3 with PyYAML is needed to read the desync corpus: skipped");
        return std::nullopt;
    }
    auto cases = nlohmann::json::parse(converted.out);
    REQUIRE(cases.size() > 100);
    return cases;
}

std::string case_name(const nlohmann::json& c) {
    return c["file"].get<std::string>() + ": " + c["name"].get<std::string>();
}

}  // namespace

TEST_CASE("the http-desync-guardian corpus cannot desynchronise the proxy and its origin",
          "[proxy]") {
    const auto cases = load_corpus();
    if (!cases) return;
    request_recording_origin origin(answer_naming);
    proxy_fixture proxy([](config& c) { c.default_agent = "bot"; });

    std::size_t answered_by_origin = 0;
    std::vector<std::string> refused_acceptable;
    std::size_t shown = 0;  // origin requests already printed (PURSER_DESYNC_DEBUG)
    for (const auto& c : *cases) {
        const auto name = case_name(c);
        const auto out = send_case(proxy.port, request_bytes(c, origin.port()));
        const auto answers = count_of(out, origin_marker);
        answered_by_origin += answers;
        if (std::getenv("PURSER_DESYNC_DEBUG") != nullptr) {  // every exchange, to diagnose
            const auto seen = origin.requests();
            std::cout << name << " | answers " << answers << " heads " << seen.size() << " | "
                      << out << "\n-----\n";
            for (auto i = shown; i < seen.size(); ++i) std::cout << "origin: " << seen[i] << '\n';
            shown = seen.size();
            std::cout << "=====\n";
        }
        const auto tier = c["tier"].get<std::string>();
        if (tier == "Compliant") {
            INFO(name << "\n" << out);
            CHECK(answers == 1);
        }
        if (tier == "Acceptable" && answers == 0) {
            const auto eol = out.find("\r\n\r\n");
            const auto why = eol == std::string::npos ? out : out.substr(eol + 4);
            refused_acceptable.push_back(name + " -> " + trim(why.substr(0, why.find('\n'))));
        }
    }
    // The origin answers before the proxy relays, so every request it parsed is recorded by now.
    const auto requests = origin.requests();
    CHECK(requests.size() == answered_by_origin);
    for (const auto& request : requests) {
        const auto head = to_lower(request.substr(0, request.find("\r\n\r\n") + 4));
        INFO(head);
        CHECK_FALSE((head.find("\r\ncontent-length:") != std::string::npos &&
                     head.find("\r\ntransfer-encoding:") != std::string::npos));
    }
    for (const auto& r : refused_acceptable) std::cout << "refused Acceptable case: " << r << '\n';
}

TEST_CASE(
    "two agents sharing the upstream pool never receive each other's answer, under every "
    "desync corpus case",
    "[proxy]") {
    const auto cases = load_corpus();
    if (!cases) return;
    request_recording_origin origin(answer_naming);
    // Agent "bot" is the default agent (the corpus requests carry no credentials); agent "other"
    // authenticates. The pool is keyed by origin only, so both draw on the same connections.
    proxy_fixture proxy([](config& c) { c.default_agent = "bot"; });
    const auto host = "127.0.0.1:" + std::to_string(origin.port());
    std::size_t sent_to_origin = 0;  // B's requests, plus A's the origin answered
    for (std::size_t i = 0; i < cases->size(); ++i) {
        const auto& c = (*cases)[i];
        INFO(case_name(c));
        // B just before and just after A: B's idle connection is in the pool when A's request
        // arrives, and A's (if the proxy kept it) is there when B's second request does.
        std::string a_out;
        for (const std::string when : {"before", "after"}) {
            if (when == "after") a_out = send_case(proxy.port, request_bytes(c, origin.port()));
            const auto target = "/agent-b/" + std::to_string(i) + "/" + when;
            const auto b_out = purser::test::raw_exchange(
                proxy.port, "GET http://" + host + target + " HTTP/1.1\r\nHost: " + host +
                                "\r\nProxy-Authorization: Basic b3RoZXI6cHc=\r\n\r\n");
            INFO("B " << when << ":\n" << b_out);
            const auto body_at = b_out.find("\r\n\r\n");
            REQUIRE(body_at != std::string::npos);
            CHECK(b_out.substr(body_at + 4) == "answer to GET " + target + " HTTP/1.1");
            ++sent_to_origin;
        }
        INFO("A:\n" << a_out);
        CHECK(a_out.find("/agent-b/") == std::string::npos);
        sent_to_origin += count_of(a_out, origin_marker);
    }
    // Not vacuous: the agents did share upstream connections.
    CHECK(origin.connections() < static_cast<int>(sent_to_origin));
}
