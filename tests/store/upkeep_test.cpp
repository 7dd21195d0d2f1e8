// Upkeep: a reader killed mid-read must not make every later write grow the file.
#include "purser/store/store.hpp"

#include <catch2/catch.hpp>

#include <lmdb.h>

#include <csignal>

#include "crasher.hpp"
#include "purser/store/fill_watch.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::usdc_request;

namespace {

/// Forks a child that opens the environment with plain LMDB, starts a read transaction, tells
/// the parent, and waits to be SIGKILLed: the `purser ledger` killed mid-read of issue 18.
/// Returns once the child is dead and its reader slot is stale.
void leave_dead_reader(const std::filesystem::path& dir) {
    int read_fd = -1;
    const pid_t pid = purser::test::fork_reporting(
        [&](int fd) {
            MDB_env* e = nullptr;
            MDB_txn* t = nullptr;
            if (mdb_env_create(&e) != MDB_SUCCESS || mdb_env_set_maxdbs(e, 16) != MDB_SUCCESS ||
                mdb_env_open(e, dir.c_str(), MDB_NOTLS, 0600) != MDB_SUCCESS ||
                mdb_txn_begin(e, nullptr, MDB_RDONLY, &t) != MDB_SUCCESS) {
                ::_exit(10);
            }
            const char ready = 'r';
            if (::write(fd, &ready, 1) != 1) ::_exit(11);
            for (;;) ::pause();
        },
        read_fd);
    char got = 0;
    const bool ready = ::read(read_fd, &got, 1) == 1;
    ::close(read_fd);
    ::kill(pid, SIGKILL);
    CHECK(purser::test::wait_exit(pid) == 128 + SIGKILL);
    REQUIRE(ready);
}

/// Bytes the store's high-water mark grows by while `n` payments are decided.
std::uint64_t growth(store& s, int n) {
    const auto before = s.stats().value().used_bytes;
    for (int i = 0; i < n; ++i) REQUIRE(s.reserve(usdc_request("a", 1)));
    return s.stats().value().used_bytes - before;
}

}  // namespace

TEST_CASE("a reader killed mid-read stops pinning pages at the next write", "[store][upkeep]") {
    purser::test::temp_dir dir;
    const auto path = dir.path() / "store";
    constexpr int rows = 300;
    std::uint64_t baseline = 0;
    std::uint64_t unchecked = 0;
    std::uint64_t checked = 0;
    {
        // Without the periodic check (an hour) a reader that died after open pins its snapshot.
        open_options o;
        o.reader_check_interval_s = 3600;
        auto s = store::open(path, o).value();
        REQUIRE(s->add_agent("a", {}));
        (void)growth(*s, rows);  // let the trees reach their working size
        baseline = growth(*s, rows);
        leave_dead_reader(path);
        unchecked = growth(*s, rows);
        CHECK(s->stats().value().stale_readers_cleared == 0);
    }
    {
        open_options o;
        o.reader_check_interval_s = 0;  // every write checks first
        auto s = store::open(path, o).value();
        // The first reader's slot is gone already: the sole process opening the environment
        // resets LMDB's reader table itself.
        const auto cleared_before = s->stats().value().stale_readers_cleared;
        leave_dead_reader(path);
        checked = growth(*s, rows);
        CHECK(s->stats().value().stale_readers_cleared == cleared_before + 1);
        CHECK(s->check_counters().value() == "");
    }
    INFO("growth for " << rows << " rows: no dead reader " << baseline << " B, dead reader and no "
                       << "check " << unchecked << " B, dead reader cleared " << checked << " B");
    // The bound has a floor: with no dead reader the file may not grow at all.
    const std::uint64_t bound = 10 * baseline + 256 * 1024;
    CHECK(unchecked > bound);  // the test would catch a missing check
    CHECK(checked < bound);
    WARN("growth for " << rows << " rows: baseline " << baseline << " B, dead reader unchecked "
                       << unchecked << " B, dead reader cleared " << checked << " B");
}

TEST_CASE("stats report the map and the fill", "[store][upkeep]") {
    purser::test::temp_dir dir;
    auto s = store::open(dir.path() / "store").value();
    const auto st = s->stats().value();
    CHECK(st.used_bytes > 0);
    CHECK(st.used_bytes <= st.map_bytes);
    CHECK(st.max_bytes >= st.map_bytes);
    CHECK(s->clear_stale_readers().value() == 0);
}

TEST_CASE("the map grows by itself up to max_size_bytes, then map_full", "[store][upkeep]") {
    purser::test::temp_dir dir;
    open_options o;
    o.map_size_bytes = 2 * 1024 * 1024;
    o.max_size_bytes = 8 * 1024 * 1024;
    auto s = store::open(dir.path() / "store", o).value();
    REQUIRE(s->add_agent("a", {}));
    CHECK(s->stats().value().map_bytes == 2 * 1024 * 1024);
    CHECK(s->stats().value().max_bytes == 8 * 1024 * 1024);
    auto q = usdc_request("a", 1);
    q.url = "https://api.example.com/" + std::string(2000, 'x');
    std::size_t approved = 0;
    std::uint64_t largest_map = 0;
    purser::error last;
    for (int i = 0; i < 50'000; ++i) {  // about 10,000 fit
        auto d = s->reserve(q);
        if (!d) {
            last = d.error();
            break;
        }
        ++approved;
        const auto st = s->stats().value();
        largest_map = std::max(largest_map, st.map_bytes);
        CHECK(st.used_bytes <= st.map_bytes);
    }
    INFO("approved " << approved << " rows before map_full");
    CHECK(largest_map == 8 * 1024 * 1024);  // grew 2 MiB -> 4 MiB -> 8 MiB
    REQUIRE(last.code == errc::map_full);
    // Past the maximum it stays a named error; what committed is intact.
    auto again_full = s->reserve(q);
    REQUIRE_FALSE(again_full);
    CHECK(again_full.error().code == errc::map_full);
    const auto st = s->stats().value();
    CHECK(st.used_bytes * 10 >= st.max_bytes * 8);  // at least 80% full: time to warn
    CHECK(s->list_ledger({}).value().size() == approved);
    CHECK(s->check_counters().value() == "");
    s.reset();
    // A full store takes more once max_size_bytes is raised (opening it writes: the dead
    // session's reservations become in_doubt), starting from the size its data needs.
    o.max_size_bytes = 16 * 1024 * 1024;
    auto reopened = store::open(dir.path() / "store", o);
    INFO("reopen: " << (reopened ? std::string("ok") : reopened.error().detail));
    REQUIRE(reopened);
    auto again = std::move(*reopened);
    CHECK(again->stats().value().map_bytes >= again->stats().value().used_bytes);
    CHECK(again->list_ledger({}).value().size() == approved);
    CHECK(again->reserve(q));
    CHECK(again->check_counters().value() == "");
}

TEST_CASE("the fill watch warns once at 80% of the maximum, and again after dropping below 75%",
          "[store][upkeep]") {
    purser::test::temp_dir dir;
    open_options o;
    o.map_size_bytes = 1 * 1024 * 1024;
    o.max_size_bytes = 4 * 1024 * 1024;
    o.decline_fold_ms = 0;
    std::shared_ptr<store> s = store::open(dir.path() / "store", o).value();
    REQUIRE(s->add_agent("a", {}));
    std::vector<std::string> said;
    fill_watch watch(s, [&](const std::string& line) { said.push_back(line); },
                     std::chrono::milliseconds(0));
    CHECK_FALSE(watch.check());
    auto q = usdc_request("a", 1);
    q.url = "https://api.example.com/" + std::string(2000, 'x');
    double fill = 0;
    while (fill < 0.8) {
        REQUIRE(s->reserve(q));
        const auto st = s->stats().value();
        fill = static_cast<double>(st.used_bytes - st.free_bytes) / static_cast<double>(st.max_bytes);
        if (fill < 0.8) CHECK_FALSE(watch.check());
    }
    auto warning = watch.check();
    REQUIRE(warning);
    CHECK(warning->find("% full") != std::string::npos);
    CHECK(warning->find("of 4 MiB") != std::string::npos);
    CHECK(warning->find("ledger prune") != std::string::npos);
    CHECK_FALSE(watch.check());  // once per crossing
    CHECK(said.size() == 1);

    // The same store, watched with a larger threshold than its fill (as after the operator
    // raised the maximum), stays quiet; a store at 80 % of a lower one warns at once.
    fill_watch above(s, [](const std::string&) {}, std::chrono::milliseconds(0), 0.99, 0.98);
    CHECK_FALSE(above.check());
    fill_watch below(s, [](const std::string&) {}, std::chrono::milliseconds(0), 0.5, 0.4);
    CHECK(below.check());
}
