# purser proxy / purser ca / purser config: the forward proxy, its interception CA, and the
# configuration it and every other command resolve.
target_sources(purser PRIVATE ${CMAKE_CURRENT_LIST_DIR}/proxy_cmd.cpp ${CMAKE_CURRENT_LIST_DIR}/ca_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/proxy_payment.cpp ${CMAKE_CURRENT_LIST_DIR}/config_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/proxy_admin.cpp)
target_compile_definitions(purser PRIVATE PURSER_HAVE_PROXY_CMD)
target_link_libraries(purser PRIVATE purser_fleet_shipper)
