#include "access_log.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "purser/proxy/errc.hpp"

namespace purser::proxy::detail {

namespace {

bool is_off(const std::string& target) { return target == "off" || target == "/dev/null"; }

/// The standard stream a target names, or null for a file: "-" is stderr (next to the proxy's
/// own diagnostics), "stdout" is what a container's log collector reads as the access log.
std::FILE* standard_stream(const std::string& target) {
    if (target == "-") return stderr;
    if (target == "stdout") return stdout;
    return nullptr;
}

}  // namespace

access_log::~access_log() {
    if (owned_ && out_ != nullptr) std::fclose(out_);
}

result<void> access_log::open(const std::string& target) {
    if (is_off(target)) return {};
    if (std::FILE* stream = standard_stream(target)) {
        out_ = stream;
        enabled_ = true;
        return {};
    }
    out_ = std::fopen(target.c_str(), "ae");
    if (out_ == nullptr)
        return fail(errc::config_file, "log file " + target + ": " + std::strerror(errno));
    owned_ = true;
    target_ = target;
    enabled_ = true;
    return {};
}

result<void> access_log::reopen(const std::string& target) {
    std::FILE* fresh = is_off(target) ? nullptr : standard_stream(target);
    const bool owned = !is_off(target) && fresh == nullptr;
    if (owned) {
        fresh = std::fopen(target.c_str(), "ae");
        if (fresh == nullptr)
            return fail(errc::config_file, "log file " + target + ": " + std::strerror(errno));
    }
    const std::lock_guard lock(mutex_);
    if (owned_ && out_ != nullptr) std::fclose(out_);
    out_ = fresh;
    owned_ = owned;
    target_ = owned ? target : "";
    enabled_ = out_ != nullptr;
    return {};
}

void access_log::write(const nlohmann::json& line) {
    if (!enabled()) return;
    // Replace invalid UTF-8 instead of throwing: paths and agent names come from the network.
    write_text(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n');
}

void access_log::write_text(std::string_view lines) {
    const std::lock_guard lock(mutex_);
    if (out_ == nullptr) return;
    std::fwrite(lines.data(), 1, lines.size(), out_);
    std::fflush(out_);
}

std::string access_log::now_iso8601() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[64];
    std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), buf,
                  static_cast<int>(ms.count() % 1000));
    return out;
}

}  // namespace purser::proxy::detail
