// `purser config show` run as a user runs it: every key with its value and source, secrets
// never printed, and the strict file and payment checks the proxy makes.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace {

using purser::test::run_shell;

/// Runs `purser config show ARGS` with a fresh PURSER_HOME plus `env` ("NAME='value' ...");
/// stderr joins stdout.
purser::test::command_result show(const purser::test::temp_dir& home, const std::string& env,
                                  const std::string& args) {
    return run_shell("env -u PURSER_CONFIG -u PURSER_WALLET_PASSWORD -u PURSER_LISTEN "
                     "PURSER_HOME='" + home.path().string() + "' " + env + " " + PURSER_BIN +
                     " config show " + args + " 2>&1");
}

}  // namespace

TEST_CASE("config show prints each key, value and source, and no secret", "[cli]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "purser.json";
    const auto store = home.path() / "custom-store";
    const auto pw_file = home.path() / "wallet.pw";
    std::ofstream(pw_file) << "file-secret-123\n";
    std::ofstream(file) << R"({"store_dir": ")" << store.string()
                        << R"(", "wallet_password_file": ")" << pw_file.string()
                        << R"(", "payment": {"iou": {"max_channel": "5"}}})";
    const std::string env = "PURSER_LISTEN=127.0.0.1:9999 PURSER_WALLET_PASSWORD=env-secret-456";

    auto table = show(home, env, "--config '" + file.string() + "' --log /tmp/x.log");
    REQUIRE(table.exit_code == 0);
    const std::string src = "file:" + file.string();
    CHECK(table.out.find("store_dir") != std::string::npos);
    CHECK(table.out.find(store.string()) != std::string::npos);
    CHECK(table.out.find(pw_file.string()) != std::string::npos);  // the path is shown
    CHECK(table.out.find(src) != std::string::npos);
    CHECK(table.out.find("env:PURSER_LISTEN") != std::string::npos);
    CHECK(table.out.find("flag:--log") != std::string::npos);
    CHECK(table.out.find("(set, from env:PURSER_WALLET_PASSWORD)") != std::string::npos);
    CHECK(table.out.find("env-secret-456") == std::string::npos);
    CHECK(table.out.find("file-secret-123") == std::string::npos);

    auto js = show(home, env, "--config '" + file.string() + "' --format json");
    REQUIRE(js.exit_code == 0);
    CHECK(js.out.find("secret-") == std::string::npos);
    const auto rows = nlohmann::json::parse(js.out);
    std::map<std::string, nlohmann::json> by_key;
    for (const auto& r : rows) by_key[r.at("key").get<std::string>()] = r;
    CHECK(by_key.at("store_dir").at("value") == store.string());
    CHECK(by_key.at("store_dir").at("source") == src);
    CHECK(by_key.at("wallet_password_file").at("value") == pw_file.string());
    CHECK(by_key.at("listen").at("value") == "127.0.0.1:9999");
    CHECK(by_key.at("listen").at("source") == "env:PURSER_LISTEN");
    CHECK(by_key.at("ca_dir").at("value") == (home.path() / "ca").string());
    CHECK(by_key.at("ca_dir").at("source") == "default");
    CHECK(by_key.at("payment").at("value").at("iou").at("max_channel") == "5");
    CHECK(by_key.at("wallet_password").at("secret") == true);
    CHECK(by_key.at("wallet_password").at("set") == true);
    CHECK_FALSE(by_key.at("wallet_password").contains("value"));
}

TEST_CASE("config show refuses an unknown key and a bad payment key, naming each", "[cli]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "purser.json";
    std::ofstream(file) << R"({"store_dir": "/tmp/s", "listen_adress": "127.0.0.1:1"})";
    auto unknown = show(home, "", "--config '" + file.string() + "'");
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.out.find("'listen_adress'") != std::string::npos);

    std::ofstream(file, std::ios::trunc) << R"({"payment": {"iou": {"max_channel": 5}}})";
    auto number = show(home, "", "--config '" + file.string() + "'");
    CHECK(number.exit_code == 2);
    CHECK(number.out.find("payment.iou.max_channel") != std::string::npos);

    std::ofstream(file, std::ios::trunc) << R"({"payment": {"iou": {"max_chanel": "5"}}})";
    auto typo = show(home, "", "--config '" + file.string() + "'");
    CHECK(typo.exit_code == 2);
    CHECK(typo.out.find("payment.iou.max_chanel") != std::string::npos);
}

TEST_CASE("wallet commands use the keystore the config file names", "[cli]") {
    purser::test::temp_dir home;
    const auto file = home.path() / "purser.json";
    const auto keystore = home.path() / "elsewhere" / "key.json";
    std::ofstream(file) << R"({"keystore": ")" << keystore.string() << R"("})";
    const std::string prefix =
        "env -u PURSER_KEYSTORE -u PURSER_WALLET_PASSWORD_FILE PURSER_HOME='" +
        home.path().string() + "' PURSER_WALLET_PASSWORD=pw-for-test " + PURSER_BIN;
    auto made = run_shell(prefix + " wallet new --config '" + file.string() + "' 2>/dev/null");
    REQUIRE(made.exit_code == 0);
    CHECK(std::filesystem::exists(keystore));
    CHECK_FALSE(std::filesystem::exists(home.path() / "keystore.json"));
    auto shown = run_shell(prefix + " wallet address --config '" + file.string() + "' 2>/dev/null");
    CHECK(shown.exit_code == 0);
    CHECK(shown.out == made.out);
    // Without the file the default keystore is the one asked for, and there is none.
    CHECK(run_shell(prefix + " wallet address 2>/dev/null").exit_code != 0);
}
