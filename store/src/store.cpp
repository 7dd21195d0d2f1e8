// Opening the environment, the shared helpers, and agent management.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <type_traits>

#include "codec.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/store/text.hpp"
#include "store_impl.hpp"

namespace purser::store {

using detail::counter_kind;
using detail::stored_row;

std::uint64_t system_clock_ms() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

namespace {

using token_hash = std::array<std::uint8_t, 32>;

/// The meta key marking a removed agent (agent names never contain '/').
std::string removed_key(std::string_view name) { return "removed/" + std::string(name); }

result<token_hash> sha256(std::string_view text) {
    // Fetched once: with EVP_sha256() OpenSSL 3 looks the algorithm up again on every call, and
    // every proxy request authenticates its agent here (about 1% of the proxy's CPU).
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    token_hash out{};
    unsigned int len = 0;
    if (md == nullptr ||
        EVP_Digest(text.data(), text.size(), out.data(), &len, md, nullptr) != 1 ||
        len != out.size()) {
        return purser::fail(errc::io_failed, "EVP_Digest(SHA-256) failed");
    }
    return out;
}

/// 32 random bytes as 64 lowercase hex characters: URL-safe, so it fits in proxy credentials.
result<std::string> new_token() {
    std::array<std::uint8_t, 32> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
        return purser::fail(errc::io_failed, "RAND_bytes failed");
    }
    std::string token = protocol::to_hex(raw, false);
    OPENSSL_cleanse(raw.data(), raw.size());
    return token;
}

result<void> check_policy(const policy& p) {
    for (const auto* list : {&p.allow_hosts, &p.deny_hosts}) {
        for (const auto& pattern : *list) {
            if (!valid_host_pattern(pattern)) {
                return purser::fail(errc::invalid_pattern, "host pattern '" + pattern + "'");
            }
        }
    }
    for (const auto* list : {&p.allow_networks, &p.allow_assets}) {
        for (const auto& item : *list) {
            if (item.empty() || item.size() > 128) {
                return purser::fail(errc::invalid_argument, "network or asset entry of 1..128 characters");
            }
        }
    }
    return {};
}

}  // namespace

// ---- the shared helpers ----------------------------------------------------------------------

result<std::optional<agent>> store::impl::load_agent(const detail::txn_base& t,
                                                     std::string_view name) const {
    if (name.empty() || name.size() > 511) return std::optional<agent>{};
    PURSER_TRY(value, t.get(agents, name));
    if (!value) return std::optional<agent>{};
    auto a = detail::decode_agent(name, *value);
    if (!a) return purser::fail(errc::corrupt_record, "agent '" + std::string(name) + "'");
    return a;
}

result<agent> store::impl::must_load_agent(const detail::txn_base& t,
                                           std::string_view name) const {
    PURSER_TRY(a, load_agent(t, name));
    PURSER_TRY(gone, a ? is_removed(t, name) : result<bool>(false));
    if (!a || gone) return purser::fail(errc::agent_not_found, "agent '" + std::string(name) + "'");
    return std::move(*a);
}

result<bool> store::impl::is_removed(const detail::txn_base& t, std::string_view name) const {
    PURSER_TRY(v, t.get(meta, removed_key(name)));
    return v.has_value();
}

result<void> store::impl::save_agent(detail::write_txn& t, const agent& a) const {
    return t.put(agents, a.name, detail::encode_agent(a));
}

result<std::uint64_t> store::impl::counter(const detail::txn_base& t, std::uint64_t agent_id,
                                           counter_kind kind, std::uint32_t period) const {
    PURSER_TRY(value, t.get(counters, detail::counter_key(agent_id, kind, period)));
    if (!value) return std::uint64_t{0};
    auto v = detail::decode_u64_value(*value);
    if (!v) return purser::fail(errc::corrupt_record, "counter");
    return *v;
}

result<void> store::impl::adjust_counter(detail::write_txn& t, std::uint64_t agent_id,
                                         counter_kind kind, std::uint32_t period,
                                         std::uint64_t sub, std::uint64_t add) const {
    if (sub == add) return {};
    PURSER_TRY(v, counter(t, agent_id, kind, period));
    if (v < sub) return purser::fail(errc::corrupt_record, "counter below the ledger's amount");
    v -= sub;
    if (v > UINT64_MAX - add) return purser::fail(errc::overflow, "counter");
    v += add;
    return t.put(counters, detail::counter_key(agent_id, kind, period), detail::encode_u64_value(v));
}

result<std::optional<stored_row>> store::impl::load_row(const detail::txn_base& t,
                                                        std::uint64_t id) const {
    PURSER_TRY(value, t.get(ledger, detail::be64(id)));
    if (!value) return std::optional<stored_row>{};
    rows_visited.fetch_add(1, std::memory_order_relaxed);
    auto r = detail::decode_row(*value);
    if (!r) return purser::fail(errc::corrupt_record, "ledger row " + std::to_string(id));
    return r;
}

result<std::uint64_t> store::impl::next_ledger_id(const detail::txn_base& t) const {
    PURSER_TRY(c, detail::cursor::open(t, ledger));
    PURSER_TRY(last, c.last());
    if (!last) return std::uint64_t{1};
    return detail::read_be64(last->key) + 1;
}

result<void> store::impl::write_row(detail::write_txn& t, const stored_row& now_row,
                                    const std::optional<stored_row>& before) const {
    const ledger_row& r = now_row.row;
    const std::uint64_t was_counted = before ? before->row.counted_usd() : 0;
    const std::uint64_t now_counted = r.counted_usd();
    const std::uint64_t was_open = before && is_open(before->row.state) ? before->row.amount_usd : 0;
    const std::uint64_t now_open = is_open(r.state) ? r.amount_usd : 0;

    const bool was_rated = before && detail::counts_for_rate(before->row);
    const bool now_rated = detail::counts_for_rate(r);
    const bool counts_change = was_counted != now_counted || was_open != now_open;
    std::optional<agent> owner;  // loaded only when a counter or the rate index may change
    if (counts_change || was_rated != now_rated) {
        PURSER_TRY(maybe_agent, load_agent(t, r.agent));
        if (!maybe_agent) return purser::fail(errc::corrupt_record, "row of a missing agent");
        owner = std::move(maybe_agent);
    }

    if (counts_change) {
        agent& a = *owner;
        PURSER_CHECK(
            adjust_counter(t, a.id, counter_kind::day, utc_day(r.at_ms), was_counted, now_counted));
        PURSER_CHECK(adjust_counter(t, a.id, counter_kind::month, utc_month(r.at_ms), was_counted,
                                    now_counted));
        PURSER_CHECK(adjust_counter(t, a.id, counter_kind::lifetime, 0, was_counted, now_counted));
        PURSER_CHECK(adjust_counter(t, a.id, counter_kind::in_flight, 0, was_open, now_open));
        if (a.allowance && was_counted != now_counted) {
            if (now_counted > was_counted) {
                // reserve() never approves beyond the allowance; only a merchant charging more
                // than it reserved can get here, and the allowance then stops at zero.
                const std::uint64_t more = now_counted - was_counted;
                *a.allowance = *a.allowance >= more ? *a.allowance - more : 0;
            } else {
                const std::uint64_t back = was_counted - now_counted;
                if (*a.allowance > UINT64_MAX - back) return purser::fail(errc::overflow, "allowance");
                *a.allowance += back;
            }
            PURSER_CHECK(save_agent(t, a));
        }
    }

    if (before && was_counted != now_counted) PURSER_CHECK(follow_draws(t, r.id, now_counted));

    // Only an agent with a rate limit keeps rate entries: for the others they would cost every
    // reservation a B-tree's pages and their flush, for a check nobody makes (set_policy builds
    // or clears an agent's entries when its limit comes or goes).
    if (was_rated != now_rated && owner->limits.payments_per_minute) {
        PURSER_CHECK(adjust_rate(t, r.agent, r.at_ms, now_rated));
    }

    if (!before) {
        PURSER_CHECK(t.put(by_time, detail::time_key(r.at_ms, r.id), detail::index_value,
                           /*append=*/true));
        PURSER_CHECK(
            t.put(by_agent, detail::name_time_key(r.agent, r.at_ms, r.id), detail::index_value));
        PURSER_CHECK(
            t.put(by_host, detail::name_time_key(r.host, r.at_ms, r.id), detail::index_value));
    }
    if (!before || before->row.state != r.state) {
        if (before) {
            PURSER_TRY(d1, t.del(by_status, detail::status_key(before->row.state, r.id)));
            if (!d1) return purser::fail(errc::corrupt_record, "status index lacks a row");
        }
        PURSER_CHECK(t.put(by_status, detail::status_key(r.state, r.id), detail::index_value));
    }
    const bool was_expiring = before && is_open(before->row.state) && before->row.expires_at != 0;
    const bool now_expiring = is_open(r.state) && r.expires_at != 0;
    if (was_expiring && !now_expiring) {
        PURSER_TRY(d2, t.del(by_expiry, detail::expiry_key(r.expires_at, r.id)));
        if (!d2) return purser::fail(errc::corrupt_record, "expiry index lacks a row");
    } else if (now_expiring && !was_expiring) {
        PURSER_CHECK(t.put(by_expiry, detail::expiry_key(r.expires_at, r.id), detail::index_value));
    }
    PURSER_CHECK(queue_outbox(t, r.id));
    // A new row has the highest id (next_ledger_id): appended, ledger pages stay full.
    return t.put(ledger, detail::be64(r.id), detail::encode_row(now_row), /*append=*/!before);
}

// ---- open ------------------------------------------------------------------------------------

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

std::uint64_t store::now_ms() const { return impl_->now(); }

result<std::unique_ptr<store>> store::open(const std::filesystem::path& dir, open_options options) {
    if (!options.clock) options.clock = system_clock_ms;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return purser::fail(errc::io_failed, "create " + dir.string() + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);

    // Every proxy thread may hold a read snapshot at once; LMDB's default of 126 is tight. Every
    // write is made durable before it returns (write_txn::commit) except an outcome's, which a
    // group commit lets the next flush carry (group_commit.hpp).
    PURSER_TRY(e, detail::open_env(dir, {options.map_size_bytes, 32, 1024}));
    PURSER_TRY(lock, detail::session_lock::acquire(dir));
    auto p = std::make_unique<impl>(std::move(e), std::move(options), dir, std::move(lock));
    // Clear readers left in the table by crashed processes, so their snapshots do not pin pages
    // (begin_write() below checks again only after the interval).
    PURSER_TRY(cleared, p->check_readers());
    (void)cleared;
    {
        PURSER_TRY(t, p->begin_write());
        PURSER_TRY(meta, detail::open_db(t, "meta"));
        PURSER_TRY(version, t.get(meta, "schema_version"));
        std::uint32_t stored_version = 0;  // none yet: a new store
        if (version) {
            detail::reader r(*version);
            const auto fmt = r.u8();
            const auto v = r.u32();
            if (fmt != detail::format_v1 || !r.ok_and_done()) {
                return purser::fail(errc::corrupt_record, "schema_version");
            }
            if (v > detail::schema_version) {
                return purser::fail(errc::schema_too_new, "store schema " + std::to_string(v) +
                                                      ", this Purser reads up to " +
                                                      std::to_string(detail::schema_version));
            }
            stored_version = v;
        }
        // An older store is upgraded in place: its rows still decode, the indexes it lacks are
        // built below, and from now on an older Purser refuses it rather than miss them.
        if (stored_version < detail::schema_version) {
            PURSER_CHECK(
                t.put(meta, "schema_version",
                      detail::writer().u8(detail::format_v1).u32(detail::schema_version).take()));
        }
        p->meta = meta;
        PURSER_TRY(agents, detail::open_db(t, "agents"));
        PURSER_TRY(counters, detail::open_db(t, "counters"));
        PURSER_TRY(ledger, detail::open_db(t, "ledger"));
        PURSER_TRY(by_time, detail::open_db(t, "idx_time"));
        PURSER_TRY(by_agent, detail::open_db(t, "idx_agent"));
        PURSER_TRY(by_host, detail::open_db(t, "idx_host"));
        PURSER_TRY(by_status, detail::open_db(t, "idx_status"));
        PURSER_TRY(by_expiry, detail::open_db(t, "idx_expiry"));
        PURSER_TRY(rate, detail::open_db(t, "idx_rate"));
        PURSER_TRY(by_decline, detail::open_db(t, "idx_decline"));
        PURSER_TRY(pruned, detail::open_db(t, "pruned"));
        PURSER_TRY(channels, detail::open_db(t, "channels"));
        PURSER_TRY(outbox, detail::open_db(t, "outbox"));
        p->outbox = outbox;
        PURSER_CHECK(p->set_outbox_mode(t, p->options.outbox));
        // Fleet leases (schema 4): a store without them simply has none yet.
        PURSER_TRY(budget_accounts, detail::open_db(t, "budget_accounts"));
        PURSER_TRY(lease_draws, detail::open_db(t, "lease_draws"));
        p->budget_accounts = budget_accounts;
        p->lease_draws = lease_draws;
        p->pruned = pruned;
        p->channels = channels;
        p->by_decline = by_decline;
        p->agents = agents;
        p->counters = counters;
        p->ledger = ledger;
        p->by_time = by_time;
        p->by_agent = by_agent;
        p->by_host = by_host;
        p->by_status = by_status;
        p->by_expiry = by_expiry;
        p->rate = rate;
        // Stores written before the rate index have their last minutes' approvals only as rows;
        // stores written before its second entries (schema 5) kept every agent's approvals, by
        // the millisecond only. Either way the index is built anew from the last minutes' rows.
        PURSER_TRY(has_rate, t.get(meta, "rate_index"));
        PURSER_TRY(current, t.get(meta, "rate_index_v2"));
        if (!has_rate || !current) {
            PURSER_CHECK(t.clear(rate));
            PURSER_CHECK(p->build_rate_index(t, p->now()));
            const std::string marker = detail::writer().u8(detail::format_v1).take();
            PURSER_CHECK(t.put(meta, "rate_index", marker));
            PURSER_CHECK(t.put(meta, "rate_index_v2", marker));
        }
        PURSER_CHECK(t.commit());
    }
    std::unique_ptr<store> s(new store(std::move(p)));
    if (s->impl_->options.recover_on_open) {
        PURSER_TRY(n, s->recover());
        (void)n;
    }
    return s;
}

// ---- agents ----------------------------------------------------------------------------------

result<agent_credentials> store::add_agent(std::string_view name, const policy& limits,
                                           std::optional<usd_micros> allowance) {
    if (!valid_agent_name(name)) {
        return purser::fail(errc::invalid_name, "agent names are 1..64 of A-Z a-z 0-9 . _ -");
    }
    PURSER_CHECK(check_policy(limits));
    PURSER_TRY(token, new_token());
    PURSER_TRY(hash, sha256(token));
    PURSER_TRY(t, impl_->begin_write());
    PURSER_TRY(existing, impl_->load_agent(t, name));
    if (existing) {
        PURSER_TRY(gone, impl_->is_removed(t, name));
        return purser::fail(errc::agent_exists,
                            "agent '" + std::string(name) + "'" +
                                (gone ? " was removed; its ledger rows keep the name, so choose another" : ""));
    }
    PURSER_TRY(next, t.get(impl_->meta, "next_agent_id"));
    std::uint64_t id = 1;
    if (next) {
        auto v = detail::decode_u64_value(*next);
        if (!v) return purser::fail(errc::corrupt_record, "next_agent_id");
        id = *v;
    }
    PURSER_CHECK(t.put(impl_->meta, "next_agent_id", detail::encode_u64_value(id + 1)));
    agent a;
    a.id = id;
    a.name = std::string(name);
    a.limits = limits;
    a.allowance = allowance;
    a.created_ms = impl_->now();
    a.token_sha256 = hash;
    PURSER_CHECK(impl_->save_agent(t, a));
    PURSER_CHECK(t.commit());
    return agent_credentials{std::move(a), std::move(token)};
}

namespace {

/// Loads, changes and saves one agent in one write transaction.
template <class Change>
result<agent> update_agent(store::impl& im, std::string_view name, Change&& change) {
    PURSER_TRY(t, im.begin_write());
    PURSER_TRY(a, im.must_load_agent(t, name));
    // A change that keeps something else in step with the agent gets the transaction too.
    result<bool> changed = [&] {
        if constexpr (std::is_invocable_v<Change, agent&, detail::write_txn&>) {
            return change(a, t);
        } else {
            return change(a);
        }
    }();
    if (!changed) return tl::unexpected(changed.error());
    PURSER_CHECK(im.save_agent(t, a));
    PURSER_CHECK(t.commit());
    return a;
}

}  // namespace

result<agent> store::set_policy(std::string_view name, const policy& limits) {
    PURSER_CHECK(check_policy(limits));
    return update_agent(*impl_, name, [&](agent& a, detail::write_txn& t) -> result<bool> {
        // Only agents with a rate limit have rate entries (write_row): a limit that comes is
        // given the approvals of the last minutes at once, so it holds from its first decision.
        const bool was_limited = a.limits.payments_per_minute.has_value();
        const bool limited = limits.payments_per_minute.has_value();
        if (was_limited != limited)
            PURSER_CHECK(impl_->rebuild_agent_rate(t, a.name, impl_->now(), limited));
        a.limits = limits;
        return true;
    });
}

result<agent> store::set_allowance(std::string_view name, std::optional<usd_micros> allowance) {
    return update_agent(*impl_, name, [&](agent& a) -> result<bool> {
        a.allowance = allowance;
        return true;
    });
}

result<agent> store::fund(std::string_view name, usd_micros amount) {
    return update_agent(*impl_, name, [&](agent& a) -> result<bool> {
        if (!a.allowance) {
            return purser::fail(errc::no_allowance_limit,
                        "agent '" + a.name + "' has no allowance limit; set one first");
        }
        if (*a.allowance > max_countable_usd_micros - std::min(amount, max_countable_usd_micros)) {
            return purser::fail(errc::overflow, "allowance");
        }
        *a.allowance += amount;
        return true;
    });
}

result<agent> store::set_frozen(std::string_view name, bool frozen) {
    return update_agent(*impl_, name, [&](agent& a) -> result<bool> {
        a.frozen = frozen;
        return true;
    });
}

result<agent_credentials> store::rotate_token(std::string_view name) {
    PURSER_TRY(token, new_token());
    PURSER_TRY(hash, sha256(token));
    PURSER_TRY(a, update_agent(*impl_, name, [&](agent& x) -> result<bool> {
        x.token_sha256 = hash;
        return true;
    }));
    return agent_credentials{std::move(a), std::move(token)};
}

result<agent> store::remove_agent(std::string_view name) {
    PURSER_TRY(t, impl_->begin_write());
    PURSER_TRY(a, impl_->must_load_agent(t, name));
    PURSER_TRY(in_flight, impl_->counter(t, a.id, counter_kind::in_flight, 0));
    if (in_flight != 0) {
        return purser::fail(errc::payments_unsettled,
                            "agent '" + a.name + "' has $" + format_usd(in_flight) +
                                " reserved, failed or in doubt; `purser ledger reconcile` settles "
                                "them with the chain, then remove the agent");
    }
    // A tombstone, not a delete: the agent's rows, counters and late evidence (a reconcile
    // that proves an expired row paid after all) still need the record and its id. Frozen with
    // a token no hash can match, so even a binary that predates removal refuses it.
    agent tomb = a;
    tomb.frozen = true;
    tomb.token_sha256.fill(0);
    PURSER_CHECK(impl_->save_agent(t, tomb));
    PURSER_CHECK(t.put(impl_->meta, removed_key(a.name), detail::encode_u64_value(impl_->now())));
    PURSER_CHECK(t.commit());
    return a;
}

result<agent> store::get_agent(std::string_view name) const {
    PURSER_TRY(t, impl_->begin_read());
    return impl_->must_load_agent(t, name);
}

result<std::vector<agent>> store::impl::all_agents(const detail::txn_base& t) const {
    PURSER_TRY(c, detail::cursor::open(t, agents));
    std::vector<agent> out;
    PURSER_TRY(e, c.first());
    for (auto cur = e; cur;) {
        auto a = detail::decode_agent(cur->key, cur->value);
        if (!a) return purser::fail(errc::corrupt_record, "agent '" + std::string(cur->key) + "'");
        out.push_back(std::move(*a));
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return out;
}

result<std::vector<agent>> store::list_agents() const {
    PURSER_TRY(t, impl_->begin_read());
    PURSER_TRY(all, impl_->all_agents(t));
    std::vector<agent> out;
    for (auto& a : all) {
        PURSER_TRY(gone, impl_->is_removed(t, a.name));
        if (!gone) out.push_back(std::move(a));
    }
    return out;
}

result<agent_usage> store::impl::usage_in(const detail::txn_base& t, std::string_view name,
                                          std::uint64_t now) const {
    PURSER_TRY(a, must_load_agent(t, name));
    agent_usage u;
    PURSER_TRY(d, counter(t, a.id, counter_kind::day, utc_day(now)));
    PURSER_TRY(m, counter(t, a.id, counter_kind::month, utc_month(now)));
    PURSER_TRY(l, counter(t, a.id, counter_kind::lifetime, 0));
    PURSER_TRY(f, counter(t, a.id, counter_kind::in_flight, 0));
    u.spent_today = d;
    u.spent_month = m;
    u.spent_lifetime = l;
    u.in_flight = f;
    u.allowance = a.allowance;
    return u;
}

result<agent_usage> store::usage(std::string_view name) const {
    const std::uint64_t now = impl_->now();
    PURSER_TRY(t, impl_->begin_read());
    return impl_->usage_in(t, name, now);
}

result<agent> store::authenticate(std::string_view name, std::string_view token) const {
    PURSER_TRY(hash, sha256(token));
    PURSER_TRY(a, get_agent(name));
    if (CRYPTO_memcmp(hash.data(), a.token_sha256.data(), hash.size()) != 0) {
        return purser::fail(errc::bad_credentials, "agent '" + std::string(name) + "'");
    }
    return a;
}

}  // namespace purser::store
