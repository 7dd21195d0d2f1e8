#include "malloc_in_use.hpp"

#ifdef PURSER_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#include <gperftools/tcmalloc.h>
#endif

#include <cstddef>

namespace purser::cli {

std::string malloc_in_use() {
#ifdef PURSER_TCMALLOC
    // Linked is not enough: tcmalloc counts only what it allocated itself, and by now the caller
    // holds at least its arguments. Zero means every allocation so far went to libc's malloc.
    std::size_t allocated = 0;
    if (MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &allocated) == 0 ||
        allocated == 0)
        return "not tcmalloc, though linked (the loader bound malloc to another library)";
    int major = 0;
    int minor = 0;
    const char* patch = nullptr;
    return std::string("tcmalloc (") + tc_version(&major, &minor, &patch) + ")";
#else
    return "glibc";
#endif
}

}  // namespace purser::cli
