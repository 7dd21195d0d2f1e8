// The bounded memo under the proxy's and the testnet's caches: what was kept is found, a new
// answer for a key replaces the old, and at the bound it empties instead of growing.
#include "purser/protocol/bounded_memo.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("bounded memo: keeps, replaces, and empties at its bound", "[protocol]") {
    purser::bounded_memo<int> memo(3);
    CHECK_FALSE(memo.find("a"));
    memo.keep("a", 1);
    memo.keep("b", 2);
    memo.keep("a", 10);  // a new answer replaces the old, taking no second slot
    CHECK(memo.find("a") == 10);
    CHECK(memo.find("b") == 2);
    memo.keep("c", 3);   // three kept: the bound
    CHECK(memo.find("c") == 3);
    memo.keep("d", 4);   // full: emptied, then "d" kept
    CHECK_FALSE(memo.find("a"));
    CHECK_FALSE(memo.find("b"));
    CHECK_FALSE(memo.find("c"));
    CHECK(memo.find("d") == 4);
}
