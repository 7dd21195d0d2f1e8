# All dependencies are Debian 12 packages, installed by scripts/install-deps.sh.
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(tl-expected 1.0 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)

# Boost headers are system headers: their warnings are not ours.
add_library(purser_boost INTERFACE)
target_include_directories(purser_boost SYSTEM INTERFACE ${Boost_INCLUDE_DIRS})
target_compile_definitions(purser_boost INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_DISABLE_BOOST_COROUTINE)
target_link_libraries(purser_boost INTERFACE Threads::Threads)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
