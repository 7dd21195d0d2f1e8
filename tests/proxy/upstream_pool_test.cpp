// The shared upstream pool's bounds: per origin, in all, and by idle age. Sockets here are never
// connected: the pool only keeps and hands back connection objects.
#include "upstream.hpp"

#include <vector>

#include <catch2/catch.hpp>

using namespace purser::proxy;

namespace {

std::unique_ptr<upstream> idle_connection(net::io_context& io, const std::string& key) {
    return std::make_unique<upstream>(
        upstream{key, either_stream(tcp_stream(io.get_executor())), {}, false, std::nullopt, false});
}

constexpr std::chrono::milliseconds minute{60'000};

upstream_pool::limits keep(std::size_t per_origin, std::size_t total,
                           std::chrono::milliseconds max_age = minute) {
    upstream_pool::limits l;
    l.per_origin = per_origin;
    l.total = total;
    l.max_age = max_age;
    return l;
}

}  // namespace

TEST_CASE("upstream pool: per-origin and total bounds, newest first, drop", "[proxy]") {
    net::io_context io;
    upstream_pool pool;
    const std::string a = "http://a:80";
    const std::string b = "https://b:443";

    std::vector<const upstream*> kept;
    for (int i = 0; i < 3; ++i) {
        auto up = idle_connection(io, a);
        if (i < 2) kept.push_back(up.get());
        pool.give(std::move(up), keep(2, 3));  // the third is over the per-origin bound
    }
    pool.give(idle_connection(io, b), keep(2, 3));
    pool.give(idle_connection(io, b), keep(2, 3));  // over the total bound: 2 (a) + 1 (b)

    auto newest = pool.take(a, minute);
    REQUIRE(newest);
    CHECK(newest.get() == kept[1]);
    CHECK(newest->key == a);
    auto older = pool.take(a, minute);
    REQUIRE(older);
    CHECK(older.get() == kept[0]);
    CHECK_FALSE(pool.take(a, minute));
    CHECK(pool.take(b, minute));
    CHECK_FALSE(pool.take(b, minute));

    pool.give(idle_connection(io, a), keep(2, 3));
    pool.drop(a);
    CHECK_FALSE(pool.take(a, minute));
    CHECK_FALSE(pool.take("http://unknown:80", minute));
}

TEST_CASE("upstream pool: a connection with unread bytes is never kept", "[proxy]") {
    net::io_context io;
    upstream_pool pool;
    auto up = idle_connection(io, "http://a:80");
    const auto n = net::buffer_copy(up->buffer.prepare(5), net::buffer("extra", 5));
    up->buffer.commit(n);
    pool.give(std::move(up), keep(4, 4));
    CHECK_FALSE(pool.take("http://a:80", minute));
}

TEST_CASE("upstream pool: connections idle past max_age are closed, not reused", "[proxy]") {
    net::io_context io;
    upstream_pool pool;
    pool.give(idle_connection(io, "http://a:80"), keep(4, 4));
    CHECK_FALSE(pool.take("http://a:80", std::chrono::milliseconds(0)));

    // give() also sweeps other origins: with max_age 0 nothing older survives a give.
    pool.give(idle_connection(io, "http://a:80"), keep(4, 4));
    pool.give(idle_connection(io, "http://b:80"), keep(4, 4, std::chrono::milliseconds(0)));
    CHECK_FALSE(pool.take("http://a:80", minute));
}
