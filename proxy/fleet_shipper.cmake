# purser_fleet_shipper: the proxy's background thread that ships the store's outbox to the fleet
# database (issue 14). A target of its own, where the store and the fleet library meet, so that
# neither depends on the other and the networking library stays free of both.
add_library(purser_fleet_shipper ${CMAKE_CURRENT_LIST_DIR}/src/fleet_shipper.cpp)
target_include_directories(purser_fleet_shipper PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(purser_fleet_shipper
  PUBLIC purser_protocol purser_store purser_fleet
  PRIVATE purser_warnings)
