// libFuzzer entry point: see heads_target in heads_target.hpp for the input format.
#include <cstdlib>

#include "heads_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (!purser::fuzz::heads_target(data, size)) std::abort();
    return 0;
}
