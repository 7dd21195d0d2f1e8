// A runaway agent cannot fill the store (issue 18): a frozen agent sends 15,000-byte URLs as fast
// as a few keep-alive connections allow for a minute, through the real proxy to the testnet
// merchant, while another agent keeps paying. Every one of the runaway's requests is declined
// (agent_frozen) and recorded, but identical declines fold into one row with a count and rows
// keep no query string, so the store's high-water mark grows by kilobytes; before the fix the
// same load filled a 1 GiB store in under two minutes. The paying agent must not notice: every
// one of its requests is paid, and the ledger holds exactly one paid row per paid answer.
// Runs about 65 s; ctest label e2e_slow.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/store/store.hpp"
#include "world.hpp"

using namespace purser;
using namespace purser::test;

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

constexpr auto hammer_for = std::chrono::seconds(60);

/// What one of the runaway's connections saw.
struct runaway_tally {
    std::size_t declined = 0;  ///< 402 with "Purser-Decision: declined; reason=agent_frozen"
    std::size_t other = 0;     ///< any other answer (each one is a failure of the test)
    std::string first_other;
};

/// Sends GETs for `url` through the proxy on one keep-alive connection (reconnecting when the
/// proxy closes it) until `until`, and tallies the answers.
runaway_tally hammer(const std::string& proxy_address, const std::string& authorization, const std::string& url,
                     std::chrono::steady_clock::time_point until) {
    runaway_tally t;
    const auto colon = proxy_address.rfind(':');
    const tcp::endpoint proxy{net::ip::make_address(proxy_address.substr(0, colon)),
                              static_cast<unsigned short>(std::stoi(proxy_address.substr(colon + 1)))};
    net::io_context io;
    http::request<http::empty_body> req{http::verb::get, url, 11};
    req.set(http::field::host, url.substr(7, url.find('/', 7) - 7));
    req.set(http::field::proxy_authorization, authorization);
    req.keep_alive(true);
    while (std::chrono::steady_clock::now() < until) {
        tcp::socket socket(io);
        boost::system::error_code ec;
        socket.connect(proxy, ec);
        if (ec) {
            ++t.other;
            t.first_other = "connect: " + ec.message();
            return t;
        }
        boost::beast::flat_buffer buffer;
        while (std::chrono::steady_clock::now() < until) {
            http::write(socket, req, ec);
            // The merchant's 402 repeats the resource URL in its terms header (base64): 20 KB+.
            http::response_parser<http::string_body> parser;
            parser.header_limit(1u << 20);
            if (!ec) http::read(socket, buffer, parser, ec);
            if (ec) {
                if (t.other++ == 0) t.first_other = "exchange: " + ec.message();
                break;
            }
            const auto& res = parser.get();
            const std::string decision(res["Purser-Decision"]);
            if (res.result_int() == 402 && decision.rfind("declined; reason=agent_frozen", 0) == 0) {
                ++t.declined;
            } else {
                if (t.other++ == 0) t.first_other = std::to_string(res.result_int()) + " " + decision;
            }
            if (!res.keep_alive()) break;
        }
    }
    return t;
}

/// The store's high-water mark (what the file grows to), read by opening the store beside the
/// running proxy as the CLI does.
std::uint64_t store_used_bytes(const world& w) {
    auto s = store::store::open(w.dir() / "home" / "store");
    if (!s) throw std::runtime_error("cannot open the store: " + s.error().message());
    return (*s)->stats().value().used_bytes;
}

}  // namespace

TEST_CASE("a frozen agent sending 15000-byte URLs for a minute grows the store by under 10 MB and another agent keeps paying",
          "[e2e][runaway][slow]") {
    world w;
    const auto runaway_token = w.add_agent("runaway");
    const auto payer_token = w.add_agent("payer");
    REQUIRE(w.purser({"agent", "freeze", "runaway"}).exit_code == 0);
    w.start_proxy();
    const std::string merchant = w.env("PURSER_TESTNET_MERCHANT_HTTP");
    const std::string paid_url = merchant + "/weather";
    const std::string long_url = merchant + "/weather?q=" + std::string(15'000 - paid_url.size() - 3, 'a');
    REQUIRE(long_url.size() == 15'000);
    const auto used_before = store_used_bytes(w);

    const auto until = std::chrono::steady_clock::now() + hammer_for;
    const std::string runaway_auth = "Basic " + protocol::base64_encode("runaway:" + runaway_token);
    std::vector<runaway_tally> tallies(4);
    std::vector<std::thread> runaways;
    for (auto& tally : tallies) {
        runaways.emplace_back([&, until] { tally = hammer(w.proxy_address(), runaway_auth, long_url, until); });
    }
    // The paying agent, one request after another on curl, for the same minute.
    std::size_t paid_answers = 0, other_answers = 0;
    std::string first_other;
    while (std::chrono::steady_clock::now() < until) {
        auto reply = w.via_proxy("payer", payer_token, {paid_url});
        if (reply.status == 200 && reply.header("purser-paid")) {
            ++paid_answers;
        } else if (other_answers++ == 0) {
            first_other = reply.raw;
        }
    }
    for (auto& t : runaways) t.join();

    std::size_t declined = 0, runaway_other = 0;
    std::string runaway_first_other;
    for (const auto& t : tallies) {
        declined += t.declined;
        runaway_other += t.other;
        if (runaway_first_other.empty()) runaway_first_other = t.first_other;
    }
    const auto used_after = store_used_bytes(w);
    const auto grown = used_after - used_before;
    INFO("runaway: " << declined << " declined answers, " << runaway_other << " others (" << runaway_first_other
                     << "); payer: " << paid_answers << " paid answers, " << other_answers << " others; store grew "
                     << grown << " bytes (" << used_before << " -> " << used_after << ")");
    WARN("runaway: " << declined << " declined 15,000-byte requests in 60 s; payer: " << paid_answers
                     << " paid; store grew " << grown << " bytes");

    // The runaway really ran: 700 of its rows at 15 KB each would pass the bound, so 2,000
    // declines (about 20,000 on a shared 2-core VM) unfolded and uncut would fail the test.
    CHECK(runaway_other == 0);
    REQUIRE(declined >= 2'000);
    CHECK(grown < 10u * 1024 * 1024);

    // Every decline is counted, folded or not.
    std::uint64_t counted = 0;
    for (const auto& row : w.ledger("runaway")) {
        CHECK(row.at("status") == "declined");
        CHECK(row.at("reason") == "agent_frozen");
        CHECK(row.at("url").get<std::string>().find("?q=aaaa") == std::string::npos);
        counted += row.at("repeats").get<std::uint64_t>();
    }
    CHECK(counted == declined);

    // The payer did not notice: every request paid, one paid row per paid answer.
    INFO("first payer answer that was not paid: " << first_other);
    CHECK(other_answers == 0);
    REQUIRE(paid_answers > 0);
    std::size_t paid_rows = 0;
    for (const auto& row : w.ledger("payer")) {
        CHECK(row.at("status") == "paid");
        if (row.at("status") == "paid") ++paid_rows;
    }
    CHECK(paid_rows == paid_answers);
}
