# purser fleet | budget: fleet budgets in PostgreSQL (issue 14).
target_sources(purser PRIVATE ${CMAKE_CURRENT_LIST_DIR}/fleet_cmd.cpp ${CMAKE_CURRENT_LIST_DIR}/fleet_open.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fleet_ledger_cmd.cpp)
target_link_libraries(purser PRIVATE purser_fleet)
