#include "dns_cache.hpp"

namespace purser::proxy::detail {
namespace {

std::string key_of(const std::string& host, std::uint16_t port) {
    return host + ":" + std::to_string(port);
}

}  // namespace

std::optional<std::vector<tcp::endpoint>> dns_cache::find(const std::string& host,
                                                          std::uint16_t port,
                                                          clock::time_point now) {
    boost::system::error_code ec;
    const auto literal = net::ip::make_address(host, ec);
    if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(literal, port)};
    const auto it = names_.find(key_of(host, port));
    if (it == names_.end()) return std::nullopt;
    if (now >= it->second.until) {
        names_.erase(it);
        return std::nullopt;
    }
    return it->second.addresses;
}

void dns_cache::remember(const std::string& host, std::uint16_t port,
                         std::vector<tcp::endpoint> addresses, clock::time_point now) {
    if (addresses.empty()) return;
    if (names_.size() >= max_names) names_.clear();
    names_[key_of(host, port)] = entry{std::move(addresses), now + ttl};
}

}  // namespace purser::proxy::detail
