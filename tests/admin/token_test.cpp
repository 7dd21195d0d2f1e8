#include "purser/admin/token.hpp"

#include <catch2/catch.hpp>

using purser::admin::bearer_token;

TEST_CASE("the bearer token admits exactly itself", "[admin][token]") {
    const bearer_token t("s3cret-token");
    CHECK(t.admits("Bearer s3cret-token"));
    CHECK(t.admits("bearer s3cret-token"));   // the scheme name is case-insensitive
    CHECK(t.admits("BEARER  s3cret-token"));
    CHECK_FALSE(t.admits(""));
    CHECK_FALSE(t.admits("Bearer"));
    CHECK_FALSE(t.admits("Bearer "));
    CHECK_FALSE(t.admits("s3cret-token"));
    CHECK_FALSE(t.admits("Basic s3cret-token"));
    CHECK_FALSE(t.admits("Bearers3cret-token"));
    CHECK_FALSE(t.admits("Bearer s3cret-toke"));      // a prefix
    CHECK_FALSE(t.admits("Bearer s3cret-token2"));    // longer
    CHECK_FALSE(t.admits("Bearer S3CRET-TOKEN"));     // the token itself is case-sensitive
}
