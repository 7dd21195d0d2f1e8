// Every case of the http-desync-guardian corpus (shared/corpora, beside the repository; read in
// place, never copied in) sent through the proxy to a recording origin. What must hold: no
// request reaches the origin with both Content-Length and Transfer-Encoding, the origin parses
// exactly as many requests as the proxy answered from it (nothing smuggled, nothing swallowed),
// and no Compliant case is refused. The YAML is turned into JSON by python3 with PyYAML, which
// the CI image has; without the corpus or PyYAML the test warns and checks nothing.
#include <sys/socket.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"
#include "test_origin.hpp"

using purser::proxy::config;
using purser::proxy::test_support::proxy_fixture;
using purser::test::raw_origin;
using purser::test::tcp;

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

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
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
        const auto n = lower(trim(name));
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
constexpr const char* origin_answer =
    "HTTP/1.1 200 OK\r\nX-Origin: desync-test\r\nContent-Length: 2\r\n\r\nok";

struct recorded {
    std::mutex m;
    std::vector<std::string> heads;  // every request head the origin parsed
};

}  // namespace

TEST_CASE("the http-desync-guardian corpus cannot desynchronise the proxy and its origin",
          "[proxy]") {
    const std::filesystem::path corpus = PURSER_DESYNC_CORPUS;
    if (!std::filesystem::is_directory(corpus)) {
        WARN("desync corpus not found at " + corpus.string() + ": skipped");
        return;
    }
    purser::test::temp_dir tmp;
    const auto script = tmp.path() / "to_json.py";
    std::ofstream(script) << to_json_py;
    const auto converted = purser::test::run_shell("python3 '" + script.string() + "' '" +
                                                   corpus.string() + "' 2>/dev/null");
    if (converted.exit_code != 0) {
        WARN("python3 with PyYAML is needed to read the desync corpus: skipped");
        return;
    }
    const auto cases = nlohmann::json::parse(converted.out);
    REQUIRE(cases.size() > 100);

    recorded seen;
    raw_origin origin([&](tcp::socket& s, raw_origin& o) {
        std::string pending;
        while (o.read_until(s, pending, "\r\n\r\n")) {
            const auto end = pending.find("\r\n\r\n") + 4;
            const auto head = lower(pending.substr(0, end));
            {
                std::lock_guard lock(seen.m);
                seen.heads.push_back(head);
            }
            std::string rest = pending.substr(end);
            const auto cl = head.find("\r\ncontent-length:");
            if (head.find("\r\ntransfer-encoding:") != std::string::npos) {
                if (!o.read_until(s, rest, "0\r\n\r\n")) return;
                rest = rest.substr(rest.find("0\r\n\r\n") + 5);
            } else if (cl != std::string::npos) {
                const auto len = std::stoul(head.substr(cl + 17));
                if (!o.read_at_least(s, rest, len)) return;
                rest = rest.substr(len);
            }
            pending = rest;
            boost::system::error_code ec;
            purser::test::net::write(s, purser::test::net::buffer(std::string(origin_answer)), ec);
        }
    });
    proxy_fixture proxy([](config& c) { c.default_agent = "bot"; });

    std::size_t answered_by_origin = 0;
    std::vector<std::string> refused_acceptable;
    for (const auto& c : cases) {
        const auto name = c["file"].get<std::string>() + ": " + c["name"].get<std::string>();
        const auto out = send_case(proxy.port, request_bytes(c, origin.port()));
        std::size_t answers = 0;
        for (auto p = out.find(origin_marker); p != std::string::npos;
             p = out.find(origin_marker, p + 1))
            ++answers;
        answered_by_origin += answers;
        if (std::getenv("PURSER_DESYNC_DEBUG") != nullptr) {  // every exchange, to diagnose
            std::lock_guard l(seen.m);
            std::cout << name << " | answers " << answers << " heads " << seen.heads.size() << " | "
                      << out << "\n=====\n";
        }
        const auto tier = c["tier"].get<std::string>();
        if (tier == "Compliant") {
            // The one refusal allowed: 501 for a transfer coding other than chunked, which the
            // proxy does not implement (RFC 9112 §6.1; proxy/README.md, docs/framing.md).
            INFO(name << "\n" << out);
            CHECK((answers == 1 || out.rfind("HTTP/1.1 501 ", 0) == 0));
        }
        if (tier == "Acceptable" && answers == 0) {
            const auto eol = out.find("\r\n\r\n");
            const auto why = eol == std::string::npos ? out : out.substr(eol + 4);
            refused_acceptable.push_back(name + " -> " + trim(why.substr(0, why.find('\n'))));
        }
    }
    // The origin answers before the proxy relays, so every head it parsed is recorded by now.
    std::lock_guard lock(seen.m);
    CHECK(seen.heads.size() == answered_by_origin);
    for (const auto& head : seen.heads) {
        INFO(head);
        CHECK_FALSE((head.find("\r\ncontent-length:") != std::string::npos &&
                     head.find("\r\ntransfer-encoding:") != std::string::npos));
    }
    for (const auto& r : refused_acceptable) std::cout << "refused Acceptable case: " << r << '\n';
}
