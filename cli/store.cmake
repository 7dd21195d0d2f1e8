# purser agent | ledger | spend: the store's command group (issue 4).
target_sources(purser PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/agent_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ledger_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/listing_text.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ledger_reconcile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spend_cmd.cpp
  ${CMAKE_CURRENT_LIST_DIR}/iou_cmd.cpp)
target_compile_definitions(purser PRIVATE PURSER_HAVE_STORE_CMD)
