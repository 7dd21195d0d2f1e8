# purser wallet | x402 sign | x402 verify: the wallet's command group (issue 3).
target_sources(purser PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/wallet_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wallet_unlock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/x402_sign_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_rpc.cpp
  ${CMAKE_CURRENT_LIST_DIR}/chain_reads.cpp)
target_link_libraries(purser PRIVATE purser_wallet purser_boost OpenSSL::SSL OpenSSL::Crypto)
target_compile_definitions(purser PRIVATE PURSER_HAVE_WALLET_CMD)
# GCC 12 reports a false "potential null pointer dereference" inside Asio's scheduler once it is
# inlined (the testnet's HTTP files do the same); the warning stays on everywhere else.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/json_rpc.cpp
  PROPERTIES COMPILE_OPTIONS -Wno-null-dereference)
