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

# tcmalloc (gperftools' tcmalloc_minimal) serves the purser executable's malloc: glibc's spent
# about a fifth of the testnet's CPU in malloc and malloc_consolidate (bench/results/
# 2026-12-04-malloc.md). Sanitizers bring an allocator of their own, so their builds keep glibc's.
set(purser_tcmalloc_default ON)
if(PURSER_SANITIZE OR PURSER_TSAN OR PURSER_FUZZ)
  set(purser_tcmalloc_default OFF)
endif()
option(PURSER_TCMALLOC "Link the purser executable with tcmalloc" ${purser_tcmalloc_default})
if(PURSER_TCMALLOC)
  if(PURSER_SANITIZE OR PURSER_TSAN OR PURSER_FUZZ)
    message(FATAL_ERROR "PURSER_TCMALLOC cannot be combined with a sanitizer build")
  endif()
  pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
endif()

# Boost headers are system headers: their warnings are not ours.
add_library(purser_boost INTERFACE)
target_include_directories(purser_boost SYSTEM INTERFACE ${Boost_INCLUDE_DIRS})
target_compile_definitions(purser_boost INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_DISABLE_BOOST_COROUTINE)
target_link_libraries(purser_boost INTERFACE Threads::Threads)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
