// The strict parser the metrics tests lean on must itself refuse what the format forbids;
// otherwise "it parses" would prove nothing.
#include "prom_text.hpp"

#include <catch2/catch.hpp>

namespace prom = purser::test::prom;

TEST_CASE("the strict parser accepts a well-formed exposition", "[admin][prom]") {
    auto e = prom::parse(
        "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\"} 3\na_total{x=\"q\\\"\\\\\\n\"} 4\n"
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n");
    CHECK(prom::value_of(e, "a_total", "a_total", {{"x", "q\"\\\n"}}) == "4");
    CHECK(prom::value_of(e, "h", "h_count") == "2");
}

TEST_CASE("the strict parser refuses what the format does not allow", "[admin][prom]") {
    const char* bad[] = {
        "a 1",                                           // no final LF
        "a 1\r\n",                                       // CR
        "a{x=\"unterminated} 1\n",                       // unterminated value
        "a{x=\"\\t\"} 1\n",                              // unknown escape
        "a{x=\"1\",x=\"2\"} 1\n",                        // label twice
        "a{__x=\"1\"} 1\n",                              // reserved label name
        "a  1\n",                                        // two spaces
        "a one\n",                                       // not a number
        "1a 1\n",                                        // bad metric name
        "a 1\nb 1\na 2\n",                               // family not contiguous
        "a 1\na 1\n",                                    // duplicate sample
        "a 1\n# TYPE a counter\n",                       // TYPE after samples
        "# TYPE a counter\n# TYPE a counter\na 1\n",     // TYPE twice
        "# TYPE a widget\na 1\n",                        // unknown type
        "# TYPE a counter\na -1\n",                      // negative counter
        "a{x=\"\xff\"} 1\n",                             // not UTF-8
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",               // no +Inf
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",            // count
    };
    for (const char* text : bad) {
        INFO(text);
        CHECK_THROWS_AS(prom::parse(text), prom::parse_error);
    }
}
