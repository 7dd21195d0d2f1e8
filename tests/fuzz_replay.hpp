// Replays a fuzz target's seeds and saved crashers (fuzz/corpus/<target>/, fuzz/crashers/<target>/)
// through the code the libFuzzer target runs, so a fixed crash stays fixed in normal builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace purser::test {

/// Runs `fn` on every file of both folders; each must return true. Returns how many ran.
inline std::size_t replay_fuzz_inputs(const std::string& target,
                                      const std::function<bool(const std::uint8_t*, std::size_t)>& fn) {
    namespace fs = std::filesystem;
    std::size_t count = 0;
    for (const char* kind : {"corpus", "crashers"}) {
        const fs::path dir = fs::path(PURSER_SOURCE_DIR) / "fuzz" / kind / target;
        INFO(dir.string());
        REQUIRE(fs::is_directory(dir));
        for (const auto& entry : fs::directory_iterator(dir)) {
            if (!entry.is_regular_file()) continue;
            const std::string data = read_file(entry.path());
            INFO(entry.path().string());
            CHECK(fn(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
            ++count;
        }
    }
    return count;
}

}  // namespace purser::test
