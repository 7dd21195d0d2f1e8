#include "purser/proxy/metrics.hpp"

#include <cstdio>

namespace purser::proxy {

std::string_view to_string(request_outcome o) noexcept {
    switch (o) {
        case request_outcome::forwarded: return "forwarded";
        case request_outcome::paid: return "paid";
        case request_outcome::declined: return "declined";
        case request_outcome::payment_unsettled: return "payment_unsettled";
        case request_outcome::unauthorized: return "unauthorized";
        case request_outcome::refused: return "refused";
        case request_outcome::upstream_error: return "upstream_error";
        case request_outcome::tunnel: return "tunnel";
        case request_outcome::aborted: return "aborted";
    }
    return "unknown";
}

void latency_histogram::observe(std::chrono::nanoseconds d) noexcept {
    const auto us = d.count() <= 0 ? std::uint64_t{0}
                                   : static_cast<std::uint64_t>(d.count()) / 1000;
    std::size_t i = 0;
    while (i < bounds_us.size() && us > bounds_us[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
}

latency_histogram::snapshot latency_histogram::read() const noexcept {
    snapshot s;
    for (std::size_t i = 0; i < counts_.size(); ++i)
        s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    return s;
}

void metrics::count_request(request_outcome o) noexcept {
    requests_[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
}

void metrics::set_fleet(bool database_up, std::map<std::string, std::uint64_t> remaining_micros) {
    const std::lock_guard lock(mutex_);
    fleet_set_ = true;
    fleet_up_ = database_up;
    fleet_remaining_ = std::move(remaining_micros);
}

void metrics::count_decline(std::string_view reason) {
    const std::lock_guard lock(mutex_);
    auto it = declines_.find(reason);
    if (it == declines_.end()) it = declines_.emplace(std::string(reason), 0).first;
    ++it->second;
}

void metrics::count_payment(std::string_view scheme, std::string_view status) {
    const std::lock_guard lock(mutex_);
    ++payments_[{std::string(scheme), std::string(status)}];
}

void metrics::add_paid(std::string_view agent, std::string_view asset, std::string_view network,
                       const protocol::uint256& amount_atomic) {
    const std::lock_guard lock(mutex_);
    auto& sum = paid_[{std::string(agent), std::string(asset), std::string(network)}];
    auto next = sum.add(amount_atomic);
    sum = next ? *next : protocol::uint256::max();
}

namespace detail {

namespace {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return n;
}

}  // namespace

std::string escape_label_value(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD
            ++i;
            continue;
        }
        if (n == 1) {
            const char c = text[i];
            if (c == '\\') out += "\\\\";
            else if (c == '"') out += "\\\"";
            else if (c == '\n') out += "\\n";
            else out += c;
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

}  // namespace detail

namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name,
            std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
            std::string_view value) {
    out.append(name);
    if (labels.size() != 0) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : labels) {
            if (!first) out += ',';
            first = false;
            out.append(k).append("=\"").append(detail::escape_label_value(v)).append("\"");
        }
        out += '}';
    }
    out.append(" ").append(value).append("\n");
}

/// Microseconds as seconds in decimal, exactly ("0.000125", "30").
std::string seconds_text(std::uint64_t us) {
    std::string text = std::to_string(us / 1'000'000);
    std::uint64_t frac = us % 1'000'000;
    if (frac != 0) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(frac));
        std::string f(buf);
        while (f.back() == '0') f.pop_back();
        text += "." + f;
    }
    return text;
}

void histogram(std::string& out, std::string_view name, std::string_view help,
               const latency_histogram::snapshot& s) {
    header(out, name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < latency_histogram::bounds_us.size(); ++i) {
        cumulative += s.counts[i];
        sample(out, bucket, {{"le", seconds_text(latency_histogram::bounds_us[i])}},
               std::to_string(cumulative));
    }
    cumulative += s.counts.back();
    sample(out, bucket, {{"le", "+Inf"}}, std::to_string(cumulative));
    sample(out, std::string(name) + "_sum", {}, seconds_text(s.sum_us));
    sample(out, std::string(name) + "_count", {}, std::to_string(cumulative));
}

}  // namespace

std::string metrics::render(const std::vector<in_flight_sample>& in_flight) const {
    std::string out;
    header(out, "purser_requests_total", "counter",
           "Agent requests through the proxy, by how they ended.");
    for (std::size_t i = 0; i < request_outcome_count; ++i) {
        sample(out, "purser_requests_total",
               {{"outcome", to_string(static_cast<request_outcome>(i))}},
               std::to_string(requests_[i].load(std::memory_order_relaxed)));
    }
    {
        const std::lock_guard lock(mutex_);
        header(out, "purser_payments_total", "counter",
               "Signed payments reaching a status (paid, failed, in_doubt, released, expired), by "
               "scheme; each status change this process made counts once.");
        for (const auto& [key, n] : payments_)
            sample(out, "purser_payments_total", {{"scheme", key.first}, {"status", key.second}},
                   std::to_string(n));
        header(out, "purser_declines_total", "counter",
               "Payments declined, by reason code (folded ledger rows count each decline).");
        for (const auto& [reason, n] : declines_)
            sample(out, "purser_declines_total", {{"reason", reason}}, std::to_string(n));
        header(out, "purser_paid_atomic_total", "counter",
               "Settled payments in the asset's atomic units (exact decimal integer), by agent, "
               "asset and network.");
        for (const auto& [key, sum] : paid_) {
            sample(out, "purser_paid_atomic_total",
                   {{"agent", std::get<0>(key)}, {"asset", std::get<1>(key)},
                    {"network", std::get<2>(key)}},
                   sum.to_decimal());
        }
        if (fleet_set_) {
            header(out, "purser_fleet_database_up", "gauge",
                   "1 when the fleet database (PostgreSQL) answered the last lease pass, else 0.");
            sample(out, "purser_fleet_database_up", {}, fleet_up_ ? "1" : "0");
            header(out, "purser_fleet_lease_remaining_micros", "gauge",
                   "Lease of each fleet budget this proxy may still spend, in micro-USD.");
            for (const auto& [budget, n] : fleet_remaining_)
                sample(out, "purser_fleet_lease_remaining_micros", {{"budget", budget}}, std::to_string(n));
        }
    }
    header(out, "purser_in_flight_atomic", "gauge",
           "Signed and not yet settled (reserved, failed, in doubt) in atomic units, by asset and "
           "network, as the store holds it now.");
    for (const auto& s : in_flight) {
        sample(out, "purser_in_flight_atomic", {{"asset", s.asset}, {"network", s.network}},
               s.amount_atomic.to_decimal());
    }
    histogram(out, "purser_upstream_duration_seconds",
              "Time from connecting to (or reusing a connection to) the origin to its response "
              "head.",
              upstream_.read());
    histogram(out, "purser_payment_duration_seconds",
              "Paid retry round trip: from the signed retry leaving to the merchant's answer "
              "(settlement included).",
              payment_.read());
    return out;
}

}  // namespace purser::proxy
