# purser_payment: the x402 payment flow (proxy/src/payment_flow.cpp, one unit per scheme:
# payment_exact.cpp, payment_voucher.cpp). A target of its own because
# it is the one place where proxy, store and wallet meet; the networking library stays free of
# money logic and the store and wallet stay free of HTTP.
add_library(purser_payment ${CMAKE_CURRENT_LIST_DIR}/src/payment_flow.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/payment_exact.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/payment_voucher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/payment_channels.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/terms_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/payment_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/fleet_leases.cpp)
target_include_directories(purser_payment PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(purser_payment
  PUBLIC purser_protocol purser_store purser_wallet purser_proxy
  PRIVATE purser_fleet purser_warnings)
