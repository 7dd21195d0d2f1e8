#include "purser/fleet/ledger.hpp"

#include <array>

#include "purser/fleet/budgets.hpp"
#include "purser/protocol/errc.hpp"

namespace purser::fleet {
namespace {

// The columns ship_rows writes, in parameter order. Times arrive as unix ms and become
// timestamptz by integer arithmetic (no float on the way).
constexpr std::array<const char*, 22> columns{
    "proxy_id", "row_id",  "version", "at",     "updated_at",    "agent",
    "host",     "method",  "url",     "scheme", "network",       "asset",
    "amount_atomic", "amount_micros", "charged_micros", "counted_micros", "status",
    "reason",   "detail",  "tx_hash", "kind",   "repeats"};

bool is_time(std::size_t column) { return column == 3 || column == 4; }

std::string u64(std::uint64_t v) { return std::to_string(v); }

// The select list that reads a row back into a ledger_entry.
constexpr const char* select_list =
    "proxy_id, row_id, version, (extract(epoch FROM at) * 1000)::bigint AS at_ms, "
    "(extract(epoch FROM updated_at) * 1000)::bigint AS updated_ms, agent, host, method, url, "
    "scheme, network, asset, coalesce(amount_atomic::text, '') AS amount_atomic, amount_micros, "
    "charged_micros, counted_micros, status, reason, detail, tx_hash, kind, repeats";

fleet_row read_row(const rows& r, std::size_t i) {
    fleet_row out;
    out.proxy_id = r.text(i, "proxy_id");
    ledger_entry& e = out.entry;
    e.row_id = r.u64(i, "row_id");
    e.version = r.u64(i, "version");
    e.at_ms = r.u64(i, "at_ms");
    e.updated_ms = r.u64(i, "updated_ms");
    e.agent = r.text(i, "agent");
    e.host = r.text(i, "host");
    e.method = r.text(i, "method");
    e.url = r.text(i, "url");
    e.scheme = r.text(i, "scheme");
    e.network = r.text(i, "network");
    e.asset = r.text(i, "asset");
    e.amount_atomic = r.text(i, "amount_atomic");
    e.amount_micros = r.u64(i, "amount_micros");
    e.charged_micros = r.u64(i, "charged_micros");
    e.counted_micros = r.u64(i, "counted_micros");
    e.status = r.text(i, "status");
    e.reason = r.text(i, "reason");
    e.detail = r.text(i, "detail");
    e.tx_hash = r.text(i, "tx_hash");
    e.kind = r.text(i, "kind");
    e.repeats = static_cast<std::uint32_t>(r.u64(i, "repeats"));
    return out;
}

}  // namespace

result<void> ship_rows(connection& c, const std::string& proxy_id, const std::vector<ledger_entry>& batch) {
    if (proxy_id.empty()) return fail(protocol::errc::invalid_value, "an empty proxy id");
    if (batch.empty()) return {};
    for (const auto& e : batch) {
        for (std::uint64_t v : {e.row_id, e.version, e.at_ms, e.updated_ms, e.amount_micros,
                                e.charged_micros, e.counted_micros}) {
            if (v > max_micros) return fail(protocol::errc::invalid_value, "a value above 2^63-1");
        }
    }
    std::string sql = "INSERT INTO fleet_ledger (";
    for (std::size_t k = 0; k < columns.size(); ++k) sql += (k ? ", " : "") + std::string(columns[k]);
    sql += ") VALUES ";
    std::vector<std::optional<std::string>> params;
    params.reserve(batch.size() * columns.size());
    std::size_t n = 0;
    for (std::size_t r = 0; r < batch.size(); ++r) {
        sql += r ? ", (" : "(";
        for (std::size_t k = 0; k < columns.size(); ++k) {
            const std::string p = "$" + std::to_string(++n);
            sql += (k ? ", " : "") +
                   (is_time(k) ? "timestamptz 'epoch' + " + p + "::bigint * interval '1 millisecond'"
                               : k == 12 ? p + "::numeric" : p);
        }
        sql += ")";
        const ledger_entry& e = batch[r];
        params.insert(params.end(),
                      {proxy_id, u64(e.row_id), u64(e.version), u64(e.at_ms), u64(e.updated_ms), e.agent,
                       e.host, e.method, e.url, e.scheme, e.network, e.asset,
                       e.amount_atomic.empty() ? std::nullopt : std::optional<std::string>(e.amount_atomic),
                       u64(e.amount_micros), u64(e.charged_micros), u64(e.counted_micros), e.status,
                       e.reason, e.detail, e.tx_hash, e.kind, u64(e.repeats)});
    }
    // The newest state wins, whatever order copies arrive in: an older version changes nothing.
    sql += " ON CONFLICT (proxy_id, row_id) DO UPDATE SET ";
    for (std::size_t k = 2; k < columns.size(); ++k) {
        sql += (k > 2 ? ", " : "") + std::string(columns[k]) + " = EXCLUDED." + columns[k];
    }
    sql += ", shipped_at = now() WHERE fleet_ledger.version < EXCLUDED.version";
    return in_transaction(c, [&]() -> result<void> {
        if (auto done = c.exec(sql, params); !done) return tl::unexpected(done.error());
        return {};
    });
}

result<std::vector<fleet_row>> list_fleet_ledger(connection& c, const fleet_query& q) {
    std::string where = " WHERE true";
    std::vector<std::optional<std::string>> params;
    // Values only ever travel as parameters: `condition` is ours, `cast` types the parameter.
    auto add = [&](const std::string& condition, std::string value, const char* cast = "") {
        params.emplace_back(std::move(value));
        where += " AND " + condition + " $" + std::to_string(params.size()) + cast;
    };
    constexpr const char* ms = "timestamptz 'epoch' + interval '1 millisecond' *";
    if (q.since_ms) add(std::string("at >= ") + ms, u64(*q.since_ms), "::bigint");
    if (q.until_ms) add(std::string("at < ") + ms, u64(*q.until_ms), "::bigint");
    if (q.agent) add("agent =", *q.agent);
    if (q.host) add("host =", *q.host);
    if (q.status) add("status =", *q.status);
    if (q.proxy_id) add("proxy_id =", *q.proxy_id);
    std::string sql = std::string("SELECT ") + select_list + " FROM fleet_ledger" + where;
    if (q.limit != 0) {
        // The newest `limit`, shown oldest first like the unlimited listing.
        sql = "SELECT * FROM (" + sql + " ORDER BY at DESC, proxy_id DESC, row_id DESC LIMIT " +
              std::to_string(q.limit) + ") newest ORDER BY at_ms, proxy_id, row_id";
    } else {
        sql += " ORDER BY at, proxy_id, row_id";
    }
    PURSER_TRY(found, c.exec(sql, params));
    std::vector<fleet_row> out;
    out.reserve(found.size());
    for (std::size_t i = 0; i < found.size(); ++i) out.push_back(read_row(found, i));
    return out;
}

result<std::vector<fleet_spend_row>> fleet_spend(connection& c, fleet_group by,
                                                 std::optional<std::uint64_t> since_ms,
                                                 std::optional<std::uint64_t> until_ms) {
    const char* key = by == fleet_group::agent  ? "agent"
                      : by == fleet_group::host ? "host"
                      : by == fleet_group::proxy
                          ? "proxy_id"
                          : "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
    std::vector<std::optional<std::string>> params{u64(since_ms.value_or(0))};
    std::string sql = std::string("SELECT ") + key +
                      " AS key, "
                      "count(*) FILTER (WHERE status <> 'declined') AS approved, "
                      "count(*) FILTER (WHERE status = 'paid') AS paid, "
                      "coalesce(sum(repeats) FILTER (WHERE status = 'declined'), 0) AS declined, "
                      "coalesce(sum(counted_micros), 0) AS spent, "
                      "coalesce(sum(charged_micros) FILTER (WHERE status = 'paid'), 0) AS paid_micros "
                      "FROM fleet_ledger WHERE at >= timestamptz 'epoch' + interval '1 millisecond' * $1::bigint";
    if (until_ms) {
        params.emplace_back(u64(*until_ms));
        sql += " AND at < timestamptz 'epoch' + interval '1 millisecond' * $2::bigint";
    }
    sql += " GROUP BY 1 ORDER BY 1";
    PURSER_TRY(found, c.exec(sql, params));
    std::vector<fleet_spend_row> out;
    for (std::size_t i = 0; i < found.size(); ++i) {
        fleet_spend_row r;
        r.key = found.text(i, "key");
        r.approved = found.u64(i, "approved");
        r.paid = found.u64(i, "paid");
        r.declined = found.u64(i, "declined");
        r.spent_micros = found.u64(i, "spent");
        r.paid_micros = found.u64(i, "paid_micros");
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace purser::fleet
