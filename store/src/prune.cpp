// `purser ledger prune`: old rows leave the store, archived first, and the counters they fed
// stay exact (what they counted is carried in the `pruned` database).
#include <vector>

#include "codec.hpp"
#include "purser/store/money.hpp"
#include "store_impl.hpp"

namespace purser::store {
namespace {

using detail::counter_kind;

constexpr std::size_t prune_batch = 512;
constexpr std::uint64_t newest_prunable_ms = 3'600'000;  // rows of the last hour stay

/// Adds `v` to a u64 value of `dbi` (the carry of what pruned rows counted).
result<void> add_to(detail::write_txn& t, MDB_dbi dbi, const std::string& key, std::uint64_t v) {
    if (v == 0) return {};
    PURSER_TRY(old, t.get(dbi, key));
    std::uint64_t now = 0;
    if (old) {
        auto decoded = detail::decode_u64_value(*old);
        if (!decoded) return purser::fail(errc::corrupt_record, "pruned carry");
        now = *decoded;
    }
    if (now > UINT64_MAX - v) return purser::fail(errc::overflow, "pruned carry");
    return t.put(dbi, key, detail::encode_u64_value(now + v));
}

}  // namespace

result<prune_report> store::prune(
    std::uint64_t before_ms,
    const std::function<result<void>(const std::vector<ledger_row>&)>& archive) {
    const std::uint64_t now = impl_->now();
    if (before_ms + newest_prunable_ms > now) {
        return purser::fail(errc::invalid_argument, "prune keeps the last hour: use an earlier --before");
    }
    prune_report report;
    std::string resume = detail::time_key(0, 0);  // by_time key to continue from
    for (;;) {
        // Pick a batch in a read transaction, so archiving never holds the write lock.
        std::vector<ledger_row> batch;
        {
            PURSER_TRY(t, impl_->begin_read());
            PURSER_TRY(c, detail::cursor::open(t, impl_->by_time));
            PURSER_TRY(e, c.seek(resume));
            for (auto cur = e; cur && batch.size() < prune_batch;) {
                const std::uint64_t at = detail::read_be64(cur->key.substr(0, 8));
                if (at >= before_ms) break;
                resume = std::string(cur->key);
                resume.push_back('\0');  // the next key after this one
                PURSER_TRY(row, impl_->load_row(t, detail::id_from_index_key(cur->key)));
                if (row) {
                    const ledger_row& r = row->row;
                    PURSER_TRY(unshipped, t.get(impl_->outbox, detail::be64(r.id)));
                    if (is_open(r.state)) {
                        ++report.kept_open;
                    } else if (unshipped) {
                        // Its latest state has not reached the fleet database yet.
                        ++report.kept_unshipped;
                    } else if (r.state == status::paid && !archive) {
                        ++report.kept_paid;
                    } else {
                        batch.push_back(r);
                    }
                }
                PURSER_TRY(n, c.next());
                cur = n;
            }
        }
        if (batch.empty()) return report;
        if (archive) PURSER_CHECK(archive(batch));

        PURSER_TRY(t, impl_->begin_write());
        for (const auto& archived : batch) {
            // Re-read inside the write: late evidence may have made an expired row paid.
            PURSER_TRY(row, impl_->load_row(t, archived.id));
            if (!row) continue;
            const ledger_row& r = row->row;
            PURSER_TRY(unshipped, t.get(impl_->outbox, detail::be64(r.id)));
            if (is_open(r.state) || (r.state == status::paid && !archive) ||
                r.state != archived.state || unshipped) {
                continue;
            }
            if (const usd_micros counted = r.counted_usd(); counted != 0) {
                PURSER_TRY(who, impl_->load_agent(t, r.agent));
                if (!who) return purser::fail(errc::corrupt_record, "a counted row of a missing agent");
                PURSER_CHECK(add_to(
                    t, impl_->pruned,
                    detail::counter_key(who->id, counter_kind::day, utc_day(r.at_ms)), counted));
                PURSER_CHECK(
                    add_to(t, impl_->pruned,
                           detail::counter_key(who->id, counter_kind::month, utc_month(r.at_ms)),
                           counted));
                PURSER_CHECK(add_to(t, impl_->pruned,
                                    detail::counter_key(who->id, counter_kind::lifetime, 0),
                                    counted));
            }
            PURSER_CHECK(t.del(impl_->ledger, detail::be64(r.id)));
            PURSER_CHECK(t.del(impl_->by_time, detail::time_key(r.at_ms, r.id)));
            PURSER_CHECK(t.del(impl_->by_agent, detail::name_time_key(r.agent, r.at_ms, r.id)));
            PURSER_CHECK(t.del(impl_->by_host, detail::name_time_key(r.host, r.at_ms, r.id)));
            PURSER_CHECK(t.del(impl_->by_status, detail::status_key(r.state, r.id)));
            // A pruned row never changes again, so what it drew from fleet leases is settled.
            PURSER_CHECK(t.del(impl_->lease_draws, detail::be64(r.id)));
            ++report.rows;
            if (r.state == status::paid) ++report.paid;
        }
        PURSER_CHECK(t.commit());
    }
}

}  // namespace purser::store
