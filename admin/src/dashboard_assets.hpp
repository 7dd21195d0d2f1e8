// The spend dashboard's files (admin/dashboard/), compiled into the binary by
// admin/embed_assets.cmake: GET / serves index.html, the others by their names.
#pragma once

#include <string_view>
#include <vector>

namespace purser::admin {

struct asset {
    std::string_view path;          ///< "/", "/dashboard.js", ...
    std::string_view content_type;  ///< With charset.
    std::string_view body;
};

[[nodiscard]] const std::vector<asset>& dashboard_assets();

}  // namespace purser::admin
