# purser x402 decode: the protocol library's command (issue 2).
target_sources(purser PRIVATE ${CMAKE_CURRENT_LIST_DIR}/x402_decode_cmd.cpp)
target_compile_definitions(purser PRIVATE PURSER_HAVE_X402_DECODE)
