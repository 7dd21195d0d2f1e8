// Which malloc serves this process, for `purser --version`: a build that links tcmalloc but whose
// loader bound malloc to libc's anyway (a library order slip) says so instead of pretending.
#pragma once

#include <string>

namespace purser::cli {

/// "tcmalloc (gperftools 2.10)" when tcmalloc serves malloc, "glibc" in a build without it, and
/// "not tcmalloc, though linked ..." when the build links it but malloc went elsewhere.
[[nodiscard]] std::string malloc_in_use();

}  // namespace purser::cli
