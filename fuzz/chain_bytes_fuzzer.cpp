// libFuzzer entry point: see chain_bytes_target in fuzz_targets.hpp for the input format.
#include <cstdlib>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (!purser::fuzz::chain_bytes_target(data, size)) std::abort();
    return 0;
}
