#include "purser/proxy/fleet_leases.hpp"

#include <algorithm>
#include <iostream>
#include <set>
#include <system_error>

#include "purser/fleet/budgets.hpp"
#include "purser/fleet/leases.hpp"
#include "purser/fleet/pg.hpp"
#include "purser/store/money.hpp"
#include "purser/store/text.hpp"

namespace purser::proxy {
namespace {

constexpr std::uint64_t ms_per_day = 86'400'000;

void say(const std::string& line) { std::cerr << ("purser: fleet: " + line + "\n"); }

}  // namespace

std::uint64_t window_end_ms(const std::string& window, std::uint64_t now_ms) {
    if (window == "lifetime") return 0;
    if (window.size() == 7) {  // "2026-12": the first of the next month
        return store::utc_month_start_ms(store::utc_month_start_ms(now_ms) + 32 * ms_per_day);
    }
    // "2026-12-02" (and, defensively, anything else: the shortest window there is).
    return (static_cast<std::uint64_t>(store::utc_day(now_ms)) + 1) * ms_per_day;
}

fleet_leases::fleet_leases(std::shared_ptr<store::store> ledger, fleet_lease_options options,
                           std::shared_ptr<metrics> stats)
    : ledger_(std::move(ledger)), options_(std::move(options)), stats_(std::move(stats)) {}

fleet_leases::~fleet_leases() { stop(); }

void fleet_leases::start() {
    thread_ = std::thread([this] { run(); });
}

void fleet_leases::run() {
    std::unique_lock lock(wake_mutex_);
    while (!stopping_) {
        lock.unlock();
        tick();
        lock.lock();
        wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
    }
}

bool fleet_leases::connected() {
    if (conn_) return true;
    const std::uint64_t now = ledger_->now_ms();
    if (now < next_connect_ms_) return false;
    fleet::connect_options co;
    co.conninfo = options_.settings.database;
    co.password = options_.password;
    co.connect_timeout_s = 2;
    auto c = fleet::connection::open(co);
    if (!c) {
        lost("connect", c.error().message());
        return false;
    }
    conn_ = std::move(*c);
    if (!database_up_.exchange(true)) {
        say("connected to the fleet database as proxy " + options_.settings.proxy_id);
    }
    return true;
}

void fleet_leases::lost(const std::string& what, const std::string& why) {
    // Said once per outage: a database that stays down must not flood the log.
    if (database_up_.exchange(false) || next_connect_ms_ == 0) {
        say("database unreachable (" + what + ": " + why +
            "); payments spend only what the leases hold, then are declined budget_unavailable");
    }
    conn_.reset();
    next_connect_ms_ = ledger_->now_ms() + options_.retry_ms;
}

bool fleet_leases::return_account(const store::budget_account& closed) {
    for (const auto& part : closed.leases) {
        auto back = fleet::return_lease(*conn_, part.lease_id, options_.settings.proxy_id, part.spent);
        if (back) continue;
        if (!conn_->healthy()) {
            lost("return lease " + std::to_string(part.lease_id), back.error().message());
            return false;
        }
        // The database does not know this lease as ours (an operator reconciled it, or another
        // proxy id): nothing to give back there, and keeping it would retry for ever.
        if (back.error().code == std::make_error_code(std::errc::no_such_file_or_directory)) {
            say("lease " + std::to_string(part.lease_id) + ": " + back.error().message() + "; forgotten");
            continue;
        }
        say("return lease " + std::to_string(part.lease_id) + ": " + back.error().message());
        return false;
    }
    auto gone = ledger_->forget_budget_account(closed.budget, closed.serial);
    if (!gone) say("forget returned leases of " + closed.budget + ": " + gone.error().message());
    return true;
}

void fleet_leases::match_database(const std::vector<store::budget_account>& accounts) {
    auto active = fleet::active_lease_ids(*conn_, options_.settings.proxy_id);
    if (!active) {
        if (!conn_->healthy()) lost("read active leases", active.error().message());
        return;
    }
    std::set<std::uint64_t> held;
    for (const auto& a : accounts)
        for (const auto& part : a.leases) held.insert(part.lease_id);
    // Granted in the database but never installed here: this proxy id was killed (or lost the
    // connection) between the grant's commit and the store's write. No payment could draw on such
    // a lease, so it goes back whole; kept, it would stay counted against the budget for ever.
    // Safe only because this runs on the lease thread, before this pass asks for any new lease.
    for (const std::uint64_t id : *active) {
        if (held.contains(id)) continue;
        auto back = fleet::return_lease(*conn_, id, options_.settings.proxy_id, 0);
        if (!back) {
            if (!conn_->healthy()) return lost("return lease " + std::to_string(id), back.error().message());
            say("return unheld lease " + std::to_string(id) + ": " + back.error().message());
            continue;
        }
        say("lease " + std::to_string(id) + " was granted but never held here (a crash or a lost answer); returned unspent");
    }
    for (const auto& a : accounts) {
        if (a.closing) continue;
        const bool reconciled = std::any_of(a.leases.begin(), a.leases.end(),
                                            [&](const auto& part) { return !active->contains(part.lease_id); });
        if (!reconciled) continue;
        // An operator returned a lease this store still draws on (purser budget reconcile, meant
        // for a proxy gone for good): the budget no longer counts it, so stop drawing at once.
        // The account's other leases go back with what they spent; the next pass leases anew.
        say("a lease of " + a.budget + " was reconciled by an operator while this proxy held it; its account is closed");
        auto closed = ledger_->close_budget_account(a.budget);
        if (!closed) {
            say("close leases of " + a.budget + ": " + closed.error().message());
            continue;
        }
        if (!return_account(*closed)) return;
    }
}

void fleet_leases::refill(const std::string& budget, const store::budget_account* held,
                          std::uint64_t now_ms) {
    const auto& s = options_.settings;
    budget_state& st = budgets_[budget];
    if (st.lease_micros == 0) st.lease_micros = s.lease_min_micros;
    // Refilled again soon after the last one: this proxy spends fast, so ask for more at a time
    // (fewer round trips). Fairness below keeps one proxy from taking what others need.
    if (held != nullptr && st.last_acquired_ms != 0 && now_ms - st.last_acquired_ms < options_.grow_within_ms) {
        st.lease_micros = std::min(st.lease_micros * 2, s.lease_max_micros);
    }
    const std::uint64_t now_s = now_ms / 1000;
    auto b = fleet::get_budget(*conn_, budget, now_s);
    if (!b) {
        if (!conn_->healthy()) return lost("read budget " + budget, b.error().message());
        say("read budget " + budget + ": " + b.error().message());
        st.not_before_ms = now_ms + options_.retry_ms;
        return;
    }
    if (!*b) {
        if (st.not_before_ms == 0) say("no fleet budget " + budget + " (purser budget add): its agents are declined budget_unavailable");
        st.not_before_ms = now_ms + 10 * options_.retry_ms;
        return;
    }
    const std::uint64_t headroom = (*b)->cap_micros > (*b)->committed_micros ? (*b)->cap_micros - (*b)->committed_micros : 0;
    if (headroom == 0) {
        st.not_before_ms = now_ms + options_.retry_ms;
        st.lease_micros = s.lease_min_micros;
        return;
    }
    // A fair share of what is left: with the budget nearly spent, leases shrink toward
    // lease_min, so the last of it is not stranded in one proxy while others decline.
    const std::uint64_t fair = headroom / ((*b)->active_leases + 1);
    if (fair < st.lease_micros) st.lease_micros = std::max(fair, s.lease_min_micros);
    const std::uint64_t want = std::clamp(st.lease_micros, s.lease_min_micros, s.lease_max_micros);
    // min 1: below lease_min, whatever is left is still granted (the budget's last cents).
    auto got = fleet::acquire_lease(*conn_, budget, s.proxy_id, want, 1, now_s);
    if (!got) {
        if (!conn_->healthy()) return lost("acquire lease of " + budget, got.error().message());
        say("acquire lease of " + budget + ": " + got.error().message());
        st.not_before_ms = now_ms + options_.retry_ms;
        return;
    }
    if (!*got) {
        st.not_before_ms = now_ms + options_.retry_ms;
        return;
    }
    const fleet::lease& l = **got;
    store::budget_lease_grant g{budget, l.id, l.window, l.granted_micros, window_end_ms(l.window, now_ms)};
    if (auto added = ledger_->add_budget_lease(g); !added) {
        // Granted but not held here: give it straight back rather than strand it.
        say("install lease " + std::to_string(l.id) + " of " + budget + ": " + added.error().message());
        (void)fleet::return_lease(*conn_, l.id, s.proxy_id, 0);
        st.not_before_ms = now_ms + options_.retry_ms;
        return;
    }
    st.last_acquired_ms = now_ms;
}

void fleet_leases::tick() {
    const std::lock_guard pass(tick_mutex_);
    if (stopped_) return;
    const std::uint64_t now = ledger_->now_ms();
    bool up = connected();
    // A database that went away is noticed within retry_ms even when no lease is due, so
    // /readyz and the metrics say so before the leases run out.
    bool pinged = false;
    if (up && now >= last_ping_ms_ + options_.retry_ms) {
        if (auto ping = conn_->exec("SELECT 1"); !ping) {
            lost("ping", ping.error().message());
            up = false;
        }
        last_ping_ms_ = now;
        pinged = up;
    }
    auto accounts = ledger_->budget_accounts();
    if (!accounts) {
        say("read leases: " + accounts.error().message());
        return;
    }
    if (pinged) match_database(*accounts);
    // First what is due back: accounts left closing (a shutdown without the database) and
    // accounts whose window has ended (rollover: the rest goes back, a new window's lease comes).
    std::set<std::string> blocked;
    for (const auto& a : *accounts) {
        const bool ended = a.valid_until_ms != 0 && now >= a.valid_until_ms;
        if (!a.closing && !ended) continue;
        blocked.insert(a.budget);
        if (!up || !conn_) continue;
        result<store::budget_account> closed = a;
        if (!a.closing) closed = ledger_->close_budget_account(a.budget);
        if (!closed) {
            say("close leases of " + a.budget + ": " + closed.error().message());
            continue;
        }
        if (return_account(*closed)) blocked.erase(a.budget);
    }
    if (conn_) {
        std::set<std::string> wanted;
        for (const auto& [agent, names] : options_.settings.budgets) wanted.insert(names.begin(), names.end());
        auto now_held = ledger_->budget_accounts();
        for (const auto& budget : wanted) {
            if (!conn_) break;
            if (blocked.contains(budget)) continue;
            const store::budget_account* held = nullptr;
            if (now_held) {
                for (const auto& a : *now_held)
                    if (a.budget == budget && !a.closing) held = &a;
            }
            budget_state& st = budgets_[budget];
            if (st.lease_micros == 0) st.lease_micros = options_.settings.lease_min_micros;
            if (now < st.not_before_ms) continue;
            const std::uint64_t low_water = std::max<std::uint64_t>(st.lease_micros / 2, 1);
            if (held == nullptr || held->remaining(now) < low_water) refill(budget, held, now);
        }
    }
    auto latest = ledger_->budget_accounts();
    if (latest) publish(*latest, now);
}

void fleet_leases::publish(const std::vector<store::budget_account>& accounts, std::uint64_t now_ms) {
    if (!stats_) return;
    std::map<std::string, std::uint64_t> remaining;
    for (const auto& [agent, names] : options_.settings.budgets)
        for (const auto& n : names) remaining[n] = 0;
    for (const auto& a : accounts) remaining[a.budget] = a.remaining(now_ms);
    stats_->set_fleet(database_up_.load(), std::move(remaining));
}

void fleet_leases::stop() {
    {
        const std::lock_guard lock(wake_mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    const std::lock_guard pass(tick_mutex_);
    if (stopped_) return;
    stopped_ = true;
    // Everything this store holds goes back with what it spent. Without the database the leases
    // stay as they are: the next start spends or returns them (a proxy that never comes back
    // keeps them counted until an operator reconciles).
    next_connect_ms_ = 0;
    if (!connected()) {
        say("leases kept: the database is unreachable; the next start returns or spends them");
        return;
    }
    auto accounts = ledger_->budget_accounts();
    if (!accounts) return say("read leases: " + accounts.error().message());
    std::uint64_t returned = 0;
    for (const auto& a : *accounts) {
        auto closed = ledger_->close_budget_account(a.budget);
        if (!closed) {
            say("close leases of " + a.budget + ": " + closed.error().message());
            continue;
        }
        if (!conn_) break;
        if (return_account(*closed)) ++returned;
    }
    say("returned the leases of " + std::to_string(returned) + " budget(s)");
    if (auto latest = ledger_->budget_accounts(); latest) publish(*latest, ledger_->now_ms());
}

}  // namespace purser::proxy
