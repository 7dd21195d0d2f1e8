#include "purser/proxy/fleet_shipper.hpp"

#include <algorithm>
#include <iostream>

namespace purser::proxy {

fleet::ledger_entry to_fleet_entry(const store::outbox_entry& e) {
    fleet::ledger_entry out;
    out.row_id = e.row_id;
    out.version = e.version;
    if (!e.row) return out;
    const store::ledger_row& r = *e.row;
    out.at_ms = r.at_ms;
    out.updated_ms = r.updated_ms;
    out.agent = r.agent;
    out.host = r.host;
    out.method = r.method;
    // Rows normally hold the URL without its query already; a query may carry a key, and the
    // fleet database is read by more people than one proxy's store.
    out.url = r.url.substr(0, r.url.find_first_of("?#"));
    out.scheme = r.scheme;
    out.network = r.network;
    out.asset = r.asset;
    const bool has_amount = r.asset_decimals != 0 || !r.amount_atomic.is_zero();
    if (has_amount) out.amount_atomic = r.amount_atomic.to_decimal();
    out.amount_micros = r.amount_usd;
    out.charged_micros = r.state == store::status::paid ? r.charged_usd : 0;
    out.counted_micros = r.counted_usd();
    out.status = std::string(store::to_string(r.state));
    out.reason = r.why ? std::string(store::to_string(*r.why)) : "";
    out.detail = r.detail;
    out.tx_hash = r.tx_hash;
    out.kind = r.kind == store::row_kind::deposit ? "deposit" : "payment";
    out.repeats = r.repeats;
    return out;
}

result<std::size_t> ship_batch(store::store& s, fleet::connection& c, const std::string& proxy_id,
                               std::size_t limit) {
    PURSER_TRY(batch, s.outbox_batch(limit));
    if (batch.empty()) return std::size_t{0};
    std::vector<fleet::ledger_entry> rows;
    rows.reserve(batch.size());
    for (const auto& e : batch) {
        // A row pruned before it shipped has nothing left to send (prune keeps unshipped rows,
        // so only an older Purser's prune gets here); its entry is simply acknowledged.
        if (e.row) rows.push_back(to_fleet_entry(e));
    }
    if (auto shipped = fleet::ship_rows(c, proxy_id, rows); !shipped) {
        return tl::unexpected(shipped.error());
    }
    // Only after the fleet database's COMMIT: a crash before this line ships the batch again.
    PURSER_TRY(acked, s.outbox_ack(batch));
    (void)acked;
    return batch.size();
}

fleet_shipper::fleet_shipper(std::shared_ptr<store::store> s, shipper_options o)
    : store_(std::move(s)), options_(std::move(o)) {}

fleet_shipper::~fleet_shipper() { stop(); }

void fleet_shipper::start() { thread_ = std::thread([this] { run(); }); }

void fleet_shipper::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

shipper_stats fleet_shipper::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
}

void fleet_shipper::note_failure(const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.failures;
    // Once per distinct cause, not once per retry: a database down for an hour is one line.
    if (why != last_error_) {
        std::cerr << "purser: fleet: cannot ship the ledger (retrying with back-off): " << why << "\n";
        last_error_ = why;
    }
    stats_.connected = false;
}

bool fleet_shipper::drain(const std::chrono::steady_clock::time_point& deadline) {
    if (!db_ || !db_->healthy()) {
        db_.reset();
        auto c = fleet::connection::open(options_.database);
        if (!c) {
            note_failure(c.error().detail);
            return false;
        }
        // A hung server must not hang the shipper (and with it the shutdown) for ever.
        if (auto set = (*c)->exec("SET statement_timeout = '10s'"); !set) {
            note_failure(set.error().detail);
            return false;
        }
        db_ = std::move(*c);
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.connected = true;
        if (!last_error_.empty()) std::cerr << "purser: fleet: shipping resumed\n";
        last_error_.clear();
    }
    while (std::chrono::steady_clock::now() < deadline) {
        auto n = ship_batch(*store_, *db_, options_.proxy_id, options_.batch_rows);
        if (!n) {
            note_failure(n.error().detail);
            if (!db_->healthy()) db_.reset();
            return false;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stats_.rows_shipped += *n;
            if (*n != 0) ++stats_.batches;
        }
        if (*n < options_.batch_rows) return true;  // the outbox is empty (for now)
    }
    return true;
}

void fleet_shipper::run() {
    using clock = std::chrono::steady_clock;
    auto backoff = options_.min_backoff;
    for (;;) {
        bool stopping = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping = stopping_;
        }
        if (stopping) {
            // The last attempt: whatever the outbox holds, as far as the database lets us in
            // final_drain. What is left waits in the store for the next start.
            (void)drain(clock::now() + options_.final_drain);
            return;
        }
        // A normal round drains in slices so that a stop is noticed between them.
        const bool ok = drain(clock::now() + std::chrono::seconds(1));
        std::unique_lock<std::mutex> lock(mutex_);
        const auto wait = ok ? options_.poll : backoff;
        backoff = ok ? options_.min_backoff : std::min(backoff * 2, options_.max_backoff);
        wake_.wait_for(lock, wait, [this] { return stopping_; });
    }
}

}  // namespace purser::proxy
