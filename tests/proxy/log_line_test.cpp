// The access-log line is written by hand; nlohmann::json, which wrote it before, is the oracle:
// every object here must come out byte for byte as its dump(-1, ' ', false, replace) does.
#include "log_line.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using purser::proxy::detail::log_line;

namespace {

std::string dumped(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string written(const log_line& line) {
    std::string out;
    line.append_to(out);
    return out;
}

}  // namespace

TEST_CASE("log line: strings are escaped as nlohmann escapes them", "[proxy]") {
    const std::vector<std::string> cases = {
        "",
        "plain /path?q=1&r=2",
        "quote \" backslash \\ slash /",
        std::string("nul \0 here", 10),
        "\b\f\n\r\t\x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",  // valid UTF-8
        "bad \xff byte",
        "lone continuation \x80 end",
        "truncated \xe2\x82",
        "overlong \xc0\xaf and surrogate \xed\xa0\x80",
        "\xc3",
    };
    for (const auto& s : cases) {
        INFO(s);
        log_line line;
        line.add("k", s);
        nlohmann::json j;
        j["k"] = s;
        CHECK(written(line) == dumped(j));
    }
}

TEST_CASE("log line: random bytes match nlohmann's output", "[proxy]") {
    std::mt19937 rng(12);  // fixed seed: reproducible
    for (int i = 0; i < 3000; ++i) {
        std::string s(rng() % 24, '\0');
        // Mostly ASCII with some high bytes, so both the fast path and the fallback are hit.
        for (auto& c : s) c = static_cast<char>(rng() % 3 == 0 ? rng() & 0xff : rng() & 0x7f);
        log_line line;
        line.add("v", s);
        nlohmann::json j;
        j["v"] = s;
        INFO(i);
        REQUIRE(written(line) == dumped(j));
    }
}

TEST_CASE("log line: keys in byte order, later values replace earlier, numbers and bools",
          "[proxy]") {
    log_line line;
    nlohmann::json j;
    line.add("time", "2026-01-02T03:04:05.678Z");
    j["time"] = "2026-01-02T03:04:05.678Z";
    line.add("status", 402u);
    j["status"] = 402u;
    line.add("bytes", std::numeric_limits<std::uint64_t>::max());
    j["bytes"] = std::numeric_limits<std::uint64_t>::max();
    line.add("latency_ms", std::int64_t{-3});
    j["latency_ms"] = std::int64_t{-3};
    line.add("intercepted", true);
    j["intercepted"] = true;
    line.add("Zed", "upper case sorts first");
    j["Zed"] = "upper case sorts first";
    line.add("agent", "first");
    line.add("agent", "second");
    j["agent"] = "second";
    CHECK(line.has("agent"));
    CHECK_FALSE(line.has("tunnel"));
    CHECK(written(line) == dumped(j));
    CHECK(written(log_line()) == dumped(nlohmann::json::object()));
}
