# purser wallet | x402 sign | x402 verify: the wallet's command group (issue 3).
target_sources(purser PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/wallet_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wallet_unlock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/x402_sign_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rpc_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/terminal_qr.cpp)
target_link_libraries(purser PRIVATE purser_wallet purser_boost OpenSSL::SSL OpenSSL::Crypto PkgConfig::QRENCODE)
target_compile_definitions(purser PRIVATE PURSER_HAVE_WALLET_CMD)
