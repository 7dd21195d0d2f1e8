// The wallet and x402 commands, run through the real purser binary.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli_support.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/wallet/keystore.hpp"
#include "test_support.hpp"

using namespace purser;
using test::run_purser;
using nlohmann::json;

namespace {

// Hardhat account #0 and #1: fixed, public, obviously fake test keys.
constexpr const char* key0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr const char* addr0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
constexpr const char* key1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
constexpr const char* addr1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
constexpr const char* password = "correct horse battery staple 402";
const wallet::scrypt_params light{1024, 8, 1};
const char* const base_sepolia_usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

std::map<std::string, std::string> pw_env(std::map<std::string, std::string> extra = {}) {
    extra["PURSER_WALLET_PASSWORD"] = password;
    return extra;
}

/// A light-scrypt keystore for `key` in `dir` (unit tests need not pay for n = 262144).
std::filesystem::path light_keystore(const std::filesystem::path& dir, const char* key,
                                     const std::string& name = "keystore.json") {
    const auto path = dir / name;
    REQUIRE(wallet::write_keystore(path, *wallet::private_key::from_hex(key), password, light, true));
    return path;
}

void write_text(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

protocol::ojson official_vectors() {
    return protocol::ojson::parse(test::read_file(std::string(PURSER_VECTORS_DIR) + "/official_client.json"));
}

std::string rule_nonce_hex(int k) {
    protocol::bytes32 n{};
    for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>((i + 1 + static_cast<std::size_t>(k)) & 0xff);
    return protocol::to_hex(n);
}

/// Everything a secret-leak check must not find, in the cases it could be printed.
void require_no_secret(const test::run_result& r, const std::vector<std::string>& secrets, const std::string& what) {
    INFO(what << "\nstdout: " << r.out << "\nstderr: " << r.err);
    for (std::string s : secrets) {
        if (s.rfind("0x", 0) == 0) s = s.substr(2);
        std::string upper = s;
        for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        CHECK(r.out.find(s) == std::string::npos);
        CHECK(r.err.find(s) == std::string::npos);
        CHECK(r.out.find(upper) == std::string::npos);
        CHECK(r.err.find(upper) == std::string::npos);
    }
}

}  // namespace

TEST_CASE("cli: x402 sign prints exactly the official client's headers", "[wallet][cli][vectors]") {
    test::temp_dir dir;
    auto v = official_vectors();
    for (const auto& c : v["cases"]) {
        INFO(c["label"].get<std::string>());
        const auto ks = light_keystore(dir.path(), c["private_key"].get<std::string>().c_str());
        const auto req = dir.path() / "requirements.json";
        write_text(req, c["payment_required"].dump());
        const bool v1 = c["payment_required"]["x402Version"] == 1;
        const std::uint64_t now = c["now_unix"].get<std::uint64_t>();
        const std::string nonce = rule_nonce_hex(v1 ? 1 : 0);
        const auto& headers = c["headers"];
        const std::string expected = headers.begin().value().get<std::string>() + "\n";

        // Explicit times, as given.
        auto r = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", req.string(),
                             "--x402-version", v1 ? "1" : "2", "--nonce", nonce, "--valid-after",
                             std::to_string(v1 ? now - 600 : 0), "--valid-before", std::to_string(now + 60)},
                            pw_env(), dir.path());
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out == expected);
        CHECK(r.err.find(headers.begin().key()) != std::string::npos);

        // The defaults from a fixed clock give the same bytes (validAfter 0 / now-600).
        auto d = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", req.string(),
                             "--nonce", nonce, "--now", std::to_string(now)},
                            pw_env(), dir.path());
        CHECK(d.exit_code == 0);
        CHECK(d.out == expected);

        // An explicit --valid-before is used as given, not capped.
        auto e = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", req.string(),
                             "--nonce", nonce, "--now", std::to_string(now), "--valid-before", "1740999999"},
                            pw_env(), dir.path());
        REQUIRE(e.exit_code == 0);
        auto decoded = protocol::decode_payment_header(e.out.substr(0, e.out.size() - 1));
        REQUIRE(decoded);
        CHECK(decoded->payload["authorization"]["validBefore"] == "1740999999");

        // Asking for the other version is refused.
        auto wrong = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", req.string(),
                                 "--x402-version", v1 ? "2" : "1"},
                                pw_env(), dir.path());
        CHECK(wrong.exit_code != 0);
        CHECK(wrong.out.empty());
    }
    // v2 terms given as the base64 PAYMENT-REQUIRED header value sign the same way.
    const auto& c = v["cases"][0];
    const auto ks = light_keystore(dir.path(), key0);
    const auto hdr = dir.path() / "payment-required.b64";
    write_text(hdr, protocol::base64_encode(c["payment_required"].dump()) + "\n");
    auto r = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", hdr.string(), "--nonce",
                         rule_nonce_hex(0), "--now", "1740672000"},
                        pw_env(), dir.path());
    CHECK(r.exit_code == 0);
    CHECK(r.out == c["headers"]["PAYMENT-SIGNATURE"].get<std::string>() + "\n");
}

TEST_CASE("cli: x402 sign picks the first exact offer and explains refusals", "[wallet][cli]") {
    test::temp_dir dir;
    auto v = official_vectors();
    const auto ks = light_keystore(dir.path(), key0);
    protocol::ojson pr = v["cases"][0]["payment_required"];
    protocol::ojson upto = pr["accepts"][0];
    upto["scheme"] = "upto";
    protocol::ojson second = pr["accepts"][0];
    second["amount"] = "20000";
    pr["accepts"] = protocol::ojson::array({upto, second});
    const auto req = dir.path() / "req.json";
    write_text(req, pr.dump());
    auto r = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", req.string()}, pw_env(),
                        dir.path());
    REQUIRE(r.exit_code == 0);
    auto decoded = protocol::decode_payment_header(r.out.substr(0, r.out.size() - 1));
    REQUIRE(decoded);
    CHECK(decoded->accepted["amount"] == "20000");
    CHECK(decoded->payload["authorization"]["validAfter"] == "0");

    pr["accepts"] = protocol::ojson::array({upto});
    write_text(req, pr.dump());
    auto none = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", req.string()}, pw_env(),
                           dir.path());
    CHECK(none.exit_code != 0);
    CHECK(none.err.find("accepts[0]: scheme upto") != std::string::npos);
    CHECK(none.out.empty());

    auto bad_nonce = run_purser({"x402", "sign", "--keystore", ks.string(), "--requirements", req.string(),
                                 "--nonce", "0x1234"},
                                pw_env(), dir.path());
    CHECK(bad_nonce.exit_code != 0);
}

TEST_CASE("cli: x402 verify recovers the signer", "[wallet][cli]") {
    test::temp_dir dir;
    auto v = official_vectors();
    const std::string v2 = v["cases"][0]["headers"]["PAYMENT-SIGNATURE"];
    auto ok = run_purser({"x402", "verify", "--header", v2}, {}, dir.path());
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find(std::string("recovered:   ") + addr0) != std::string::npos);
    CHECK(ok.out.find("digest:      0x0b1d2bae3e8c64606a78ee1267e66556b8b60f68c392bcfd8c9780110f65e001") !=
          std::string::npos);
    CHECK(ok.out.find("valid (recovers to authorization.from)") != std::string::npos);

    // Tampered value: the signature no longer recovers to `from`.
    auto payload = protocol::decode_payment_header(v2);
    REQUIRE(payload);
    payload->payload["authorization"]["value"] = "99999";
    auto bad = run_purser({"x402", "verify", "--header", protocol::encode_payment_header(*payload)}, {}, dir.path());
    CHECK(bad.exit_code == 1);
    CHECK(bad.out.find("INVALID") != std::string::npos);

    // v1 needs the requirements; with them it verifies, from a file holding "X-PAYMENT: value".
    const std::string v1 = v["cases"][1]["headers"]["X-PAYMENT"];
    const auto hdr = dir.path() / "xpayment.txt";
    write_text(hdr, "X-PAYMENT: " + v1 + "\n");
    auto no_req = run_purser({"x402", "verify", "--file", hdr.string()}, {}, dir.path());
    CHECK(no_req.exit_code != 0);
    CHECK(no_req.err.find("requirements") != std::string::npos);
    const auto req = dir.path() / "req1.json";
    write_text(req, v["cases"][1]["payment_required"].dump());
    auto with_req = run_purser({"x402", "verify", "--file", hdr.string(), "--requirements", req.string()}, {},
                               dir.path());
    CHECK(with_req.exit_code == 0);
    CHECK(with_req.out.find(std::string("recovered:   ") + addr0) != std::string::npos);

    auto garbage = run_purser({"x402", "verify", "--header", "not base64!"}, {}, dir.path());
    CHECK(garbage.exit_code != 0);
}

TEST_CASE("cli: wallet new round-trips through wallet address, 0600, v3 JSON", "[wallet][cli]") {
    test::temp_dir dir;
    const auto pw_file = dir.path() / "pw.txt";
    write_text(pw_file, std::string(password) + "\n");
    const auto ks = dir.path() / "wallet" / "keystore.json";
    const std::map<std::string, std::string> env{{"PURSER_WALLET_PASSWORD_FILE", pw_file.string()}};
    auto made = run_purser({"wallet", "new", "--keystore", ks.string()}, env, dir.path());
    REQUIRE(made.exit_code == 0);
    REQUIRE(made.out.size() == 43);
    const std::string address = made.out.substr(0, 42);
    CHECK(protocol::address::parse(address));

    struct stat st {};
    REQUIRE(::stat(ks.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const json doc = json::parse(test::read_file(ks));
    CHECK(doc["version"] == 3);
    CHECK(doc["crypto"]["kdf"] == "scrypt");
    CHECK(doc["crypto"]["kdfparams"]["n"] == 262144);
    CHECK(doc["crypto"]["kdfparams"]["r"] == 8);
    CHECK(doc["crypto"]["kdfparams"]["p"] == 1);
    CHECK("0x" + doc["address"].get<std::string>() == protocol::address::parse(address)->to_lower());
    CHECK(test::read_file(ks).find(password) == std::string::npos);

    auto shown = run_purser({"wallet", "address", "--keystore", ks.string()}, env, dir.path());
    CHECK(shown.exit_code == 0);
    CHECK(shown.out == address + "\n");

    // The address is read from the keystore's address field: no password at all.
    auto no_pw = run_purser({"wallet", "address", "--keystore", ks.string()}, {}, dir.path());
    CHECK(no_pw.exit_code == 0);
    CHECK(no_pw.out == address + "\n");

    auto wrong = run_purser({"wallet", "export", "--keystore", ks.string(), "--i-understand"},
                            {{"PURSER_WALLET_PASSWORD", "wrong"}}, dir.path());
    CHECK(wrong.exit_code != 0);
    CHECK(wrong.out.empty());
    CHECK(wrong.err.find("wrong password") != std::string::npos);

    // A second `new` does not replace the key.
    const std::string before = test::read_file(ks);
    auto again = run_purser({"wallet", "new", "--keystore", ks.string()}, env, dir.path());
    CHECK(again.exit_code != 0);
    CHECK(test::read_file(ks) == before);

    // No password source and no terminal: a clear error, no file.
    auto nopw = run_purser({"wallet", "new", "--keystore", (dir.path() / "other.json").string()}, {}, dir.path());
    CHECK(nopw.exit_code != 0);
    CHECK(nopw.err.find("PURSER_WALLET_PASSWORD") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "other.json"));
}

TEST_CASE("cli: wallet import and export", "[wallet][cli]") {
    test::temp_dir dir;
    const auto key_file = dir.path() / "key.hex";
    write_text(key_file, std::string(key1) + "\n");
    const auto ks = dir.path() / "imported.json";
    auto imp = run_purser({"wallet", "import", "--keystore", ks.string(), "--private-key-file", key_file.string()},
                          pw_env(), dir.path());
    REQUIRE(imp.exit_code == 0);
    CHECK(imp.out == std::string(addr1) + "\n");

    auto refused = run_purser({"wallet", "export", "--keystore", ks.string()}, pw_env(), dir.path());
    CHECK(refused.exit_code != 0);
    CHECK(refused.out.empty());
    CHECK(refused.err.find("--i-understand") != std::string::npos);

    auto exp = run_purser({"wallet", "export", "--keystore", ks.string(), "--i-understand"}, pw_env(), dir.path());
    CHECK(exp.exit_code == 0);
    CHECK(exp.out == std::string(key1) + "\n");

    // From a geth/ethers keystore (the vectors' pbkdf2 file) with its own password.
    auto v = test::load_vectors("keystore_v3.json");
    const auto src = dir.path() / "geth.json";
    write_text(src, v["cases"][2]["keystore"].dump());
    const auto ks2 = dir.path() / "from-geth.json";
    auto imp2 = run_purser({"wallet", "import", "--keystore", ks2.string(), "--from-keystore", src.string()},
                           pw_env({{"PURSER_IMPORT_PASSWORD", v["cases"][2]["password"]}}), dir.path());
    REQUIRE(imp2.exit_code == 0);
    CHECK(imp2.out == v["cases"][2]["address"].get<std::string>() + "\n");
    auto back = wallet::read_keystore(ks2, password);
    REQUIRE(back);
    CHECK(protocol::to_hex(back->reveal()) == v["cases"][2]["private_key"]);

    // Bad input: both sources, neither, a file that is not a key.
    CHECK(run_purser({"wallet", "import", "--keystore", (dir.path() / "x.json").string()}, pw_env(), dir.path())
              .exit_code != 0);
    write_text(key_file, "0xnot-a-key\n");
    auto bad = run_purser({"wallet", "import", "--keystore", (dir.path() / "x.json").string(),
                           "--private-key-file", key_file.string()},
                          pw_env(), dir.path());
    CHECK(bad.exit_code != 0);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "x.json"));
}

TEST_CASE("cli: no private key or password in the output of wallet commands", "[wallet][cli][secrets]") {
    test::temp_dir dir;
    // The 63-digit prefix also catches an echo of the near-key file below.
    const std::vector<std::string> secrets{std::string(key0).substr(2, 63), key1, password};
    const auto ks = light_keystore(dir.path(), key0);
    const auto key_file = dir.path() / "key.hex";
    write_text(key_file, std::string(key1) + "\n");
    // A file that is almost a key (one digit short): the error must not echo it.
    const auto near_key = dir.path() / "near.hex";
    write_text(near_key, std::string(key0).substr(0, 65) + "\n");
    const auto pw_file = dir.path() / "pw.txt";
    write_text(pw_file, password);
    auto v = official_vectors();
    const auto req = dir.path() / "req.json";
    write_text(req, v["cases"][0]["payment_required"].dump());
    test::rpc_server rpc(31337, std::string(protocol::testnet_usdc));

    const std::vector<std::pair<std::vector<std::string>, std::map<std::string, std::string>>> runs = {
        {{"wallet", "address", "--keystore", ks.string()}, pw_env()},
        {{"wallet", "address", "--keystore", ks.string()}, {{"PURSER_WALLET_PASSWORD", std::string(password) + "x"}}},
        {{"wallet", "address", "--keystore", ks.string()}, {{"PURSER_WALLET_PASSWORD_FILE", pw_file.string()}}},
        {{"wallet", "address", "--keystore", (dir.path() / "missing.json").string()}, pw_env()},
        {{"wallet", "export", "--keystore", ks.string()}, pw_env()},
        {{"wallet", "import", "--keystore", (dir.path() / "i1.json").string(), "--private-key-file",
          key_file.string()},
         pw_env()},
        {{"wallet", "import", "--keystore", (dir.path() / "i2.json").string(), "--private-key-file",
          near_key.string()},
         pw_env()},
        {{"wallet", "import", "--keystore", (dir.path() / "i3.json").string(), "--from-keystore", ks.string()},
         pw_env({{"PURSER_IMPORT_PASSWORD", "nope"}})},
        {{"x402", "sign", "--keystore", ks.string(), "--requirements", req.string()}, pw_env()},
        {{"x402", "sign", "--keystore", ks.string(), "--requirements", req.string()},
         {{"PURSER_WALLET_PASSWORD", "nope"}}},
        {{"wallet", "balance", "--keystore", ks.string(), "--rpc", rpc.url()}, pw_env()},
        {{"wallet", "fund", "--keystore", ks.string(), "--rpc", rpc.url(), "--amount", "5"}, pw_env()},
        {{"wallet", "bogus", "--keystore", ks.string()}, pw_env()},
        {{"wallet", "address", "--keystore", ks.string(), "--password", password}, {}},
    };
    int failures = 0;
    int successes = 0;
    for (const auto& [args, env] : runs) {
        std::string what;
        for (const auto& a : args) what += a + " ";
        auto r = run_purser(args, env, dir.path());
        (r.exit_code == 0 ? successes : failures)++;
        require_no_secret(r, secrets, what);
    }
    // Both kinds were exercised.
    CHECK(successes >= 5);
    CHECK(failures >= 6);
    // The only command whose job is to print the key does print it.
    auto exp = run_purser({"wallet", "export", "--keystore", ks.string(), "--i-understand"}, pw_env(), dir.path());
    CHECK(exp.out.find(std::string(key0).substr(2)) != std::string::npos);
    CHECK(exp.err.find(std::string(key0).substr(2)) == std::string::npos);
    CHECK(exp.err.find(password) == std::string::npos);
}

TEST_CASE("cli: wallet balance over JSON-RPC (chain id discovery, --network, --asset)", "[wallet][cli][rpc]") {
    test::temp_dir dir;
    const auto ks = light_keystore(dir.path(), key0);
    {
        test::rpc_server rpc(31337, std::string(protocol::testnet_usdc));
        rpc.set_balance(addr0, protocol::uint256(1500000));
        // No password needed: the address comes from the keystore file.
        auto r = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", rpc.url()}, {}, dir.path());
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("balance: 1.5 USDC (1500000 atomic)") != std::string::npos);
        CHECK(r.out.find("eip155:31337") != std::string::npos);
        CHECK(r.out.find(std::string("address: ") + addr0) != std::string::npos);
        auto calls = rpc.calls();
        REQUIRE(calls.size() == 2);
        CHECK(calls[0] == "eth_chainId []");
        CHECK(calls[1].find("0x70a08231000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266") !=
              std::string::npos);

        // PURSER_TESTNET_RPC is the default --rpc; --address queries any holder.
        auto r2 = run_purser({"wallet", "balance", "--address", addr1}, {{"PURSER_TESTNET_RPC", rpc.url()}},
                             dir.path());
        CHECK(r2.exit_code == 0);
        CHECK(r2.out.find("balance: 0 USDC (0 atomic)") != std::string::npos);

        // A --network that is not the RPC's chain is refused.
        auto mism = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", rpc.url(), "--network",
                                "base-sepolia"},
                               {}, dir.path());
        CHECK(mism.exit_code != 0);
        CHECK(mism.err.find("84532") != std::string::npos);

        // An asset with no contract behind it is a clear error.
        auto nocontract = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", rpc.url(), "--asset",
                                      base_sepolia_usdc},
                                     {}, dir.path());
        CHECK(nocontract.exit_code != 0);
        CHECK(nocontract.err.find("token contract") != std::string::npos);
    }
    {
        test::rpc_server rpc(84532, base_sepolia_usdc);
        rpc.set_balance(addr0, *protocol::uint256::from_decimal("123456789"));
        auto r = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", rpc.url(), "--network",
                             "base-sepolia", "--asset", base_sepolia_usdc},
                            {}, dir.path());
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("balance: 123.456789 USDC (123456789 atomic)") != std::string::npos);
    }
    {
        // A chain the registry does not know, with --asset: decimals() is asked from the token.
        const std::string token = "0x1111111111111111111111111111111111111111";
        test::rpc_server rpc(999999, token);
        rpc.set_balance(addr0, protocol::uint256(2500000));
        auto r = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", rpc.url(), "--asset", token},
                            {}, dir.path());
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("(2500000 atomic)") != std::string::npos);
        CHECK(r.out.find("2.5 ") != std::string::npos);
        auto no_asset = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", rpc.url()}, {},
                                   dir.path());
        CHECK(no_asset.exit_code != 0);
        CHECK(no_asset.err.find("--asset") != std::string::npos);
    }
    // Nothing listening: a clear connection error.
    std::string dead_url;
    {
        test::rpc_server gone(31337, std::string(protocol::testnet_usdc));
        dead_url = gone.url();
    }
    auto dead = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", dead_url}, {}, dir.path());
    CHECK(dead.exit_code != 0);
    CHECK(dead.err.find("connect") != std::string::npos);
    auto bad_url = run_purser({"wallet", "balance", "--keystore", ks.string(), "--rpc", "ftp://x"}, {}, dir.path());
    CHECK(bad_url.exit_code != 0);
}

TEST_CASE("cli: wallet fund mints on the local testnet", "[wallet][cli][rpc]") {
    test::temp_dir dir;
    const auto ks = light_keystore(dir.path(), key0);
    test::rpc_server rpc(31337, std::string(protocol::testnet_usdc));
    rpc.set_balance(addr0, protocol::uint256(1));
    auto r = run_purser({"wallet", "fund", "--keystore", ks.string(), "--amount", "100"},
                        {{"PURSER_TESTNET_RPC", rpc.url()}}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(rpc.balance(addr0) == protocol::uint256(100000001));
    bool minted = false;
    for (const auto& c : rpc.calls()) {
        if (c == std::string("testnet_mint [\"") + addr0 + "\",\"100000000\"]") minted = true;
    }
    CHECK(minted);
    CHECK(r.out.find("minted 100 USDC") != std::string::npos);
    CHECK(r.out.find("tx: 0x") != std::string::npos);
    CHECK(r.out.find("balance: 100.000001 USDC") != std::string::npos);

    // Bad amounts change nothing.
    for (const char* bad : {"0", "-1", "1.0000001", "abc"}) {
        auto b = run_purser({"wallet", "fund", "--keystore", ks.string(), "--amount", bad, "--rpc", rpc.url()}, {},
                            dir.path());
        CHECK(b.exit_code != 0);
    }
    CHECK(rpc.balance(addr0) == protocol::uint256(100000001));
}

TEST_CASE("cli: wallet fund elsewhere waits for the deposit, or times out", "[wallet][cli][rpc]") {
    test::temp_dir dir;
    const auto ks = light_keystore(dir.path(), key0);
    test::rpc_server rpc(84532, base_sepolia_usdc);
    rpc.set_balance(addr0, protocol::uint256(500000));

    // Nobody pays: --timeout 0 gives up at the first check.
    auto t = run_purser({"wallet", "fund", "--keystore", ks.string(), "--rpc", rpc.url(), "--amount", "2",
                         "--timeout", "0"},
                        {}, dir.path());
    CHECK(t.exit_code != 0);
    CHECK(t.out.find(std::string("address: ") + addr0) != std::string::npos);
    CHECK(t.out.find("eip155:84532") != std::string::npos);
    CHECK(t.out.find(base_sepolia_usdc) != std::string::npos);
    CHECK(t.err.find("timed out") != std::string::npos);

    // The deposit lands on the second poll; fund returns once the balance rose by the amount.
    rpc.credit_after(addr0, 1, protocol::uint256(2000000));
    auto f = run_purser({"wallet", "fund", "--keystore", ks.string(), "--rpc", rpc.url(), "--amount", "2"}, {},
                        dir.path());
    INFO(f.err);
    CHECK(f.exit_code == 0);
    CHECK(f.err.find("waiting: received 0 USDC of 2 USDC") != std::string::npos);
    CHECK(f.out.find("funded: balance 2.5 USDC (2500000 atomic)") != std::string::npos);
    for (const auto& c : rpc.calls()) CHECK(c.rfind("testnet_mint", 0) == std::string::npos);
}

namespace {

/// Reads the QR code `purser wallet fund` drew (half blocks: light modules drawn, dark blank)
/// back into an image and decodes it with zbarimg (Debian's zbar-tools): what a phone would read.
std::string decode_terminal_qr(const std::string& out, const std::filesystem::path& dir) {
    std::vector<std::vector<bool>> dark;  // rows of modules
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("\u2588") == std::string::npos) continue;  // only lines of the code
        std::vector<bool> top, bottom;
        for (std::size_t i = 0; i < line.size();) {
            if (line.compare(i, 3, "\u2588") == 0) { top.push_back(false); bottom.push_back(false); i += 3; }
            else if (line.compare(i, 3, "\u2580") == 0) { top.push_back(false); bottom.push_back(true); i += 3; }
            else if (line.compare(i, 3, "\u2584") == 0) { top.push_back(true); bottom.push_back(false); i += 3; }
            else if (line[i] == ' ') { top.push_back(true); bottom.push_back(true); i += 1; }
            else { i += 1; }
        }
        dark.push_back(top);
        dark.push_back(bottom);
    }
    if (dark.empty()) return "";
    // A plain PBM, 8 pixels a module, with a white border.
    const int scale = 8;
    const std::size_t w = dark[0].size();
    const auto pbm = dir / "qr.pbm";
    std::ofstream f(pbm);
    f << "P1\n" << w * scale << " " << dark.size() * scale << "\n";
    for (const auto& row : dark) {
        for (int k = 0; k < scale; ++k) {
            for (std::size_t x = 0; x < w; ++x) {
                const bool d = x < row.size() && row[x];
                for (int j = 0; j < scale; ++j) f << (d ? "1 " : "0 ");
            }
            f << "\n";
        }
    }
    f.close();
    std::string text;
    if (FILE* z = ::popen(("zbarimg --quiet --raw '" + pbm.string() + "' 2>/dev/null").c_str(), "r")) {
        char buf[512];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, z)) > 0;) text.append(buf, n);
        ::pclose(z);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

}  // namespace

TEST_CASE("cli: wallet fund on a real network prints an EIP-681 link and a QR code that decodes to it", "[wallet][cli][rpc]") {
    test::temp_dir dir;
    const auto ks = light_keystore(dir.path(), key0);
    test::rpc_server rpc(84532, base_sepolia_usdc);
    auto t = run_purser({"wallet", "fund", "--keystore", ks.string(), "--rpc", rpc.url(), "--amount", "2.5",
                         "--timeout", "0"},
                        {}, dir.path());
    const std::string link = std::string("ethereum:") + base_sepolia_usdc + "@84532/transfer?address=" + addr0 +
                             "&uint256=2500000";
    CHECK(t.out.find("  link:    " + link + "\n") != std::string::npos);
    CHECK(decode_terminal_qr(t.out, dir.path()) == link);

    auto plain = run_purser({"wallet", "fund", "--keystore", ks.string(), "--rpc", rpc.url(), "--amount", "2.5",
                             "--timeout", "0", "--no-qr"},
                            {}, dir.path());
    CHECK(plain.out.find(link) != std::string::npos);
    CHECK(plain.out.find("\u2588") == std::string::npos);
}

TEST_CASE("cli: wallet refuses an empty password and backs up what --force replaces", "[wallet][cli]") {
    test::temp_dir dir;
    const auto ks = dir.path() / "keystore.json";
    const auto key_file0 = dir.path() / "key0.hex";
    const auto key_file1 = dir.path() / "key1.hex";
    write_text(key_file0, std::string(key0) + "\n");
    write_text(key_file1, std::string(key1) + "\n");

    const std::map<std::string, std::string> empty_pw{{"PURSER_WALLET_PASSWORD", ""}};
    auto empty_new = run_purser({"wallet", "new", "--keystore", ks.string()}, empty_pw, dir.path());
    CHECK(empty_new.exit_code != 0);
    CHECK(empty_new.err.find("empty wallet password") != std::string::npos);
    auto empty_import = run_purser(
        {"wallet", "import", "--keystore", ks.string(), "--private-key-file", key_file0.string()},
        empty_pw, dir.path());
    CHECK(empty_import.exit_code != 0);
    CHECK(empty_import.err.find("empty wallet password") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(ks));

    // A password file others can read works, with a warning.
    const auto pw_file = dir.path() / "pw.txt";
    write_text(pw_file, password);
    REQUIRE(::chmod(pw_file.c_str(), 0644) == 0);
    const std::map<std::string, std::string> env{{"PURSER_WALLET_PASSWORD_FILE", pw_file.string()}};
    auto first = run_purser(
        {"wallet", "import", "--keystore", ks.string(), "--private-key-file", key_file0.string()},
        env, dir.path());
    REQUIRE(first.exit_code == 0);
    CHECK(first.err.find("can be read by other users") != std::string::npos);
    REQUIRE(::chmod(pw_file.c_str(), 0600) == 0);

    const std::string before = test::read_file(ks);
    auto second = run_purser({"wallet", "import", "--keystore", ks.string(), "--private-key-file",
                              key_file1.string(), "--force"},
                             env, dir.path());
    REQUIRE(second.exit_code == 0);
    CHECK(second.err.find("other users") == std::string::npos);
    CHECK(test::read_file(ks) != before);

    std::vector<std::filesystem::path> backups;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
        if (e.path().filename().string().rfind("keystore.json.bak-", 0) == 0) backups.push_back(e.path());
    REQUIRE(backups.size() == 1);
    CHECK(test::read_file(backups[0]) == before);
    struct stat st {};
    REQUIRE(::stat(backups[0].c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(second.err.find(backups[0].string()) != std::string::npos);
}

TEST_CASE("cli: --force does not replace a wallet that holds funds on the --rpc chain", "[wallet][cli][rpc]") {
    test::temp_dir dir;
    const auto ks = light_keystore(dir.path(), key0);
    const auto key_file1 = dir.path() / "key1.hex";
    write_text(key_file1, std::string(key1) + "\n");
    test::rpc_server rpc(31337, std::string(protocol::testnet_usdc));
    rpc.set_balance(addr0, protocol::uint256(1));  // one atomic unit is still money
    const std::string before = test::read_file(ks);

    auto refused_new = run_purser({"wallet", "new", "--keystore", ks.string(), "--force", "--rpc", rpc.url()},
                                  pw_env(), dir.path());
    INFO(refused_new.err);
    CHECK(refused_new.exit_code == 1);
    CHECK(refused_new.err.find(std::string("is the wallet ") + addr0) != std::string::npos);
    CHECK(refused_new.err.find("0.000001 USDC") != std::string::npos);
    // PURSER_TESTNET_RPC is the default --rpc, as for wallet balance.
    auto refused_import = run_purser({"wallet", "import", "--keystore", ks.string(), "--private-key-file",
                                      key_file1.string(), "--force"},
                                     pw_env({{"PURSER_TESTNET_RPC", rpc.url()}}), dir.path());
    CHECK(refused_import.exit_code == 1);
    CHECK(refused_import.err.find("does not replace a funded wallet") != std::string::npos);
    CHECK(test::read_file(ks) == before);
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
        CHECK(e.path().filename().string().rfind("keystore.json.bak-", 0) != 0);

    // Empty, it is replaced, with a backup.
    rpc.set_balance(addr0, protocol::uint256(0));
    auto replaced = run_purser({"wallet", "new", "--keystore", ks.string(), "--force", "--rpc", rpc.url()},
                               pw_env(), dir.path());
    CHECK(replaced.exit_code == 0);
    CHECK(replaced.err.find("previous keystore kept as") != std::string::npos);
    CHECK(test::read_file(ks) != before);
}
