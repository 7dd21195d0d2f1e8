# Every Purser target links purser_warnings PRIVATE: one place for warning and sanitizer flags.
add_library(purser_warnings INTERFACE)
target_compile_options(purser_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
# No -Wnull-dereference: at -O2 it fires inside inlined Boost.Asio scheduler code, where the
# system-header exemption does not reach, and gives no signal on our own code that ASan lacks.
if(PURSER_WERROR)
  target_compile_options(purser_warnings INTERFACE -Werror)
endif()

if(PURSER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
if(PURSER_TSAN)
  if(PURSER_SANITIZE)
    message(FATAL_ERROR "PURSER_TSAN and PURSER_SANITIZE cannot be combined")
  endif()
  # Asio's fenced blocks use std::atomic_thread_fence, which TSan does not model (GCC refuses it
  # with -Werror=tsan). Its scheduler hands handlers over under a mutex, which TSan does see.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
  add_link_options(-fsanitize=thread)
endif()

# Tests are written in Catch2's macro style, which trips a few pedantic warnings; they keep
# -Wall -Wextra and stay warning-free, without the conversion family.
add_library(purser_test_warnings INTERFACE)
target_compile_options(purser_test_warnings INTERFACE -Wall -Wextra -Wshadow)
if(PURSER_SANITIZE)
  # GCC 12 with -fsanitize=address reports std::regex's own std::function moves as "may be used
  # uninitialized" (libstdc++ code, not ours; the GCC manual warns that sanitizers make this
  # warning unreliable). The tests use std::regex; the plain build keeps the warning.
  target_compile_options(purser_test_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
if(PURSER_WERROR)
  target_compile_options(purser_test_warnings INTERFACE -Werror)
endif()
