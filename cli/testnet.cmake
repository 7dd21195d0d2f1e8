# purser testnet up | down | mint
target_sources(purser PRIVATE ${CMAKE_CURRENT_LIST_DIR}/testnet_cmd.cpp)
target_compile_definitions(purser PRIVATE PURSER_HAVE_TESTNET_CMD)
