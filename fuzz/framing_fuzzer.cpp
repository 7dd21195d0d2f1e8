// libFuzzer entry point: see framing_target in framing_target.hpp for the input format.
#include <cstdlib>

#include "framing_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (!purser::fuzz::framing_target(data, size)) std::abort();
    return 0;
}
