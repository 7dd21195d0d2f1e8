// The fleet outbox: ledger rows waiting to be shipped to the fleet database (issue 14).
//
// Layout: `outbox` maps a row id (big-endian u64) to the outbox version of the row's latest
// change; meta `outbox` holds whether queuing is on (so every process writing this store, the
// CLI included, follows the proxy's choice) and `outbox_seq` the last version handed out. The
// version never goes back, even when the outbox is turned off and on again, so the fleet
// database can keep the newest state of a row by comparing versions.
#include "codec.hpp"
#include "store_impl.hpp"

namespace purser::store {
namespace {

constexpr std::string_view mode_key = "outbox";
constexpr std::string_view seq_key = "outbox_seq";

result<std::uint64_t> read_u64(const detail::txn_base& t, MDB_dbi dbi, std::string_view key) {
    PURSER_TRY(value, t.get(dbi, key));
    if (!value) return std::uint64_t{0};
    auto v = detail::decode_u64_value(*value);
    if (!v) return purser::fail(errc::corrupt_record, std::string(key));
    return *v;
}

}  // namespace

result<void> store::impl::set_outbox_mode(detail::write_txn& t, outbox_mode mode) const {
    if (mode == outbox_mode::as_stored) return {};
    const std::uint64_t on = mode == outbox_mode::on ? 1 : 0;
    PURSER_TRY(now, read_u64(t, meta, mode_key));
    if (now == on) return {};
    return t.put(meta, mode_key, detail::encode_u64_value(on));
}

result<void> store::impl::queue_outbox(detail::write_txn& t, std::uint64_t id) const {
    PURSER_TRY(on, read_u64(t, meta, mode_key));
    if (on == 0) return {};
    PURSER_TRY(seq, read_u64(t, meta, seq_key));
    if (seq == UINT64_MAX) return purser::fail(errc::overflow, "outbox version");
    ++seq;
    PURSER_CHECK(t.put(meta, seq_key, detail::encode_u64_value(seq)));
    return t.put(outbox, detail::be64(id), detail::encode_u64_value(seq));
}

result<std::vector<outbox_entry>> store::outbox_batch(std::size_t limit) const {
    PURSER_TRY(t, impl_->begin_read());
    std::vector<outbox_entry> out;
    {
        PURSER_TRY(c, detail::cursor::open(t, impl_->outbox));
        PURSER_TRY(e, c.first());
        for (auto cur = e; cur && out.size() < limit;) {
            auto version = detail::decode_u64_value(cur->value);
            if (cur->key.size() != 8 || !version) return purser::fail(errc::corrupt_record, "outbox entry");
            outbox_entry entry;
            entry.row_id = detail::read_be64(cur->key);
            entry.version = *version;
            out.push_back(std::move(entry));
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
    // Read in the same snapshot as the versions: each row is the state its version names.
    for (auto& entry : out) {
        PURSER_TRY(row, impl_->load_row(t, entry.row_id));
        if (row) entry.row = std::move(row->row);
    }
    return out;
}

result<std::size_t> store::outbox_ack(const std::vector<outbox_entry>& shipped) {
    if (shipped.empty()) return std::size_t{0};
    // Through the group committer: the proxy's shipper shares a batch (and its fsync) with the
    // payments in flight instead of queuing behind them for the write lock.
    return impl_->write<std::size_t>([&](detail::write_txn& t) -> result<std::size_t> {
        std::size_t removed = 0;
        for (const auto& entry : shipped) {
            const std::string key = detail::be64(entry.row_id);
            PURSER_TRY(value, t.get(impl_->outbox, key));
            if (!value) continue;
            auto version = detail::decode_u64_value(*value);
            if (!version) return purser::fail(errc::corrupt_record, "outbox entry");
            // Changed again after the batch was read: the newer state still has to ship.
            if (*version != entry.version) continue;
            PURSER_TRY(gone, t.del(impl_->outbox, key));
            if (gone) ++removed;
        }
        return removed;
    });
}

result<std::uint64_t> store::outbox_pending() const {
    PURSER_TRY(t, impl_->begin_read());
    MDB_stat st{};
    if (const int rc = mdb_stat(t.handle(), impl_->outbox, &st); rc != MDB_SUCCESS) {
        return tl::unexpected(detail::lmdb_error(rc, "mdb_stat outbox"));
    }
    return static_cast<std::uint64_t>(st.ms_entries);
}

result<bool> store::outbox_enabled() const {
    PURSER_TRY(t, impl_->begin_read());
    PURSER_TRY(on, read_u64(t, impl_->meta, mode_key));
    return on != 0;
}

}  // namespace purser::store
