// Starts and wires the testnet's servers and writes the files clients read.
#include "purser/testnet/world.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "purser/protocol/networks.hpp"
#include "purser/protocol/result.hpp"
#include "purser/testnet/accounts.hpp"
#include "purser/testnet/rpc.hpp"
#include "purser/testnet/tls.hpp"
#include "purser/wallet/keystore.hpp"

namespace purser::testnet {

namespace fs = std::filesystem;
using nlohmann::json;

struct world::impl {
    world_options options;
    std::unique_ptr<testnet::chain> chain;
    std::unique_ptr<testnet::facilitator> facilitator;
    std::unique_ptr<merchant> v2;
    std::unique_ptr<merchant> v1;
    std::unique_ptr<merchant> hostile;
    std::unique_ptr<http_server> rpc_server, facilitator_server, v2_http, v2_https, v1_http, v1_https,
        hostile_http, hostile_https;
};

namespace {

result<void> write_text(const fs::path& p, const std::string& text, bool secret = false) {
    const fs::path tmp = p.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return fail(errc::storage, "cannot write " + tmp.string());
        out << text;
        if (!out) return fail(errc::storage, "cannot write " + tmp.string());
    }
    if (secret) ::chmod(tmp.c_str(), 0600);
    std::error_code ec;
    fs::rename(tmp, p, ec);
    if (ec) return fail(errc::storage, "rename " + p.string() + ": " + ec.message());
    return {};
}

std::uint16_t port_at(std::uint16_t base, std::uint16_t offset) {
    return base == 0 ? 0 : static_cast<std::uint16_t>(base + offset);
}

// The merchant config file in the testnet dir is the one to edit; missing keys are filled.
result<merchant_config> load_merchant(const fs::path& file, const json& defaults,
                                      const world::impl& w) {
    json j;
    if (fs::exists(file)) {
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        j = json::parse(text.str(), nullptr, false);
        if (j.is_discarded()) return fail(errc::invalid_request, file.string() + " is not JSON");
    } else {
        j = defaults;
        PURSER_CHECK(write_text(file, j.dump(2) + "\n"));
    }
    if (!j.contains("payTo")) j["payTo"] = std::string(payee_account.address);
    if (!j.contains("receiverAuthorizer")) j["receiverAuthorizer"] = w.facilitator->signer_address().to_checksum();
    j["facilitator"] = w.facilitator_server->base_url();
    return merchant_config_from_json(j);
}

std::string shell_quote(const std::string& v) {
    std::string out = "'";
    for (char ch : v) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
}

/// <dir>/ca.pem with the merchants' leaf (merchant-tls.pem, merchant-tls.key, mode 0600) from an
/// earlier start, or a fresh set written there. A partial set is replaced whole.
result<testnet_pki> load_or_make_pki(const fs::path& dir) {
    const fs::path ca = dir / "ca.pem";
    const fs::path leaf_cert = dir / "merchant-tls.pem";
    const fs::path leaf_key = dir / "merchant-tls.key";
    auto slurp = [](const fs::path& f) -> std::optional<std::string> {
        std::ifstream in(f, std::ios::binary);
        if (!in) return std::nullopt;
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    auto ca_pem = slurp(ca);
    auto cert_pem = slurp(leaf_cert);
    auto key_pem = slurp(leaf_key);
    if (ca_pem && cert_pem && key_pem && !ca_pem->empty() && !cert_pem->empty() &&
        !key_pem->empty()) {
        return testnet_pki{*ca_pem, tls_identity{*cert_pem, *key_pem}};
    }
    PURSER_TRY(pki, make_testnet_pki());
    PURSER_CHECK(write_text(leaf_key, pki.leaf.key_pem, true));
    PURSER_CHECK(write_text(leaf_cert, pki.leaf.cert_pem));
    PURSER_CHECK(write_text(ca, pki.ca_cert_pem));
    return pki;
}

}  // namespace

world::world(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
world::~world() { stop(); }

result<std::unique_ptr<world>> world::start(const world_options& options) {
    auto p = std::make_unique<impl>();
    p->options = options;
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) return fail(errc::storage, "create " + options.dir.string() + ": " + ec.message());
    PURSER_TRY(c, chain::open(options.dir / "chain", options.clock));
    p->chain = std::move(c);
    PURSER_TRY(fkey, protocol::bytes32_from_hex(facilitator_account.private_key));
    PURSER_TRY(f, facilitator::create(*p->chain, fkey));
    p->facilitator = std::move(f);

    // Fund the test accounts once: a restarted testnet keeps whatever they hold now.
    PURSER_TRY(supply, p->chain->total_supply());
    if (supply.is_zero()) {
        PURSER_TRY(payer, address::parse(payer_account.address));
        PURSER_TRY(poor, address::parse(poor_account.address));
        PURSER_TRY(m1, p->chain->mint(payer, uint256{payer_funding_atomic}));
        PURSER_TRY(m2, p->chain->mint(poor, uint256{poor_funding_atomic}));
        (void)m1;
        (void)m2;
    }

    const auto base = options.base_port;
    PURSER_TRY(rpc, http_server::start(port_at(base, 0), rpc_http_handler(*p->chain)));
    p->rpc_server = std::move(rpc);
    PURSER_TRY(fs_, http_server::start(port_at(base, 1), p->facilitator->http()));
    p->facilitator_server = std::move(fs_);

    // The PKI is made once and kept: a proxy started with --upstream-ca <dir>/ca.pem must keep
    // trusting the merchants after the testnet restarts.
    PURSER_TRY(pki, load_or_make_pki(options.dir));

    PURSER_TRY(cfg2, load_merchant(options.dir / "merchant-v2.json", default_merchant_json(2), *p));
    PURSER_TRY(cfg1, load_merchant(options.dir / "merchant-v1.json", default_merchant_json(1), *p));
    PURSER_TRY(cfgh, load_merchant(options.dir / "merchant-hostile.json",
                                   default_hostile_merchant_json(), *p));
    p->v2 = std::make_unique<merchant>(cfg2);
    p->v1 = std::make_unique<merchant>(cfg1);
    p->hostile = std::make_unique<merchant>(cfgh);
    PURSER_TRY(s2, http_server::start(port_at(base, 2), p->v2->http()));
    PURSER_TRY(s2s, http_server::start(port_at(base, 3), p->v2->http(), pki.leaf));
    PURSER_TRY(s1, http_server::start(port_at(base, 4), p->v1->http()));
    PURSER_TRY(s1s, http_server::start(port_at(base, 5), p->v1->http(), pki.leaf));
    p->v2_http = std::move(s2);
    p->v2_https = std::move(s2s);
    p->v1_http = std::move(s1);
    p->v1_https = std::move(s1s);
    PURSER_TRY(sh, http_server::start(port_at(base, 6), p->hostile->http()));
    PURSER_TRY(shs, http_server::start(port_at(base, 7), p->hostile->http(), pki.leaf));
    p->hostile_http = std::move(sh);
    p->hostile_https = std::move(shs);

    // The payer's keystore and password: a published Hardhat key, so a fixed password is fine.
    const std::string password = "purser-testnet-password";
    PURSER_CHECK(write_text(options.dir / "password.txt", password + "\n", true));
    PURSER_TRY(key, wallet::private_key::from_hex(payer_account.private_key));
    wallet::scrypt_params light;
    light.n = options.keystore_scrypt_n;
    PURSER_CHECK(wallet::write_keystore(options.dir / "keystore.json", key, password, light, true));

    auto w = std::unique_ptr<world>(new world(std::move(p)));
    std::string env = "# Purser testnet: local chain " + std::to_string(protocol::testnet_chain_id) +
                      ". Test keys only; never use them on a real network.\n";
    auto add = [&](const char* k, const std::string& v) { env += std::string("export ") + k + "=" + shell_quote(v) + "\n"; };
    add("PURSER_TESTNET_DIR", fs::absolute(options.dir).string());
    add("PURSER_TESTNET_RPC", w->rpc_url());
    add("PURSER_TESTNET_FACILITATOR", w->facilitator_url());
    add("PURSER_TESTNET_MERCHANT_HTTP", w->merchant_http_url());
    add("PURSER_TESTNET_MERCHANT_HTTPS", w->merchant_https_url());
    add("PURSER_TESTNET_MERCHANT_V1_HTTP", w->merchant_v1_http_url());
    add("PURSER_TESTNET_MERCHANT_V1_HTTPS", w->merchant_v1_https_url());
    add("PURSER_TESTNET_HOSTILE_HTTP", w->merchant_hostile_http_url());
    add("PURSER_TESTNET_HOSTILE_HTTPS", w->merchant_hostile_https_url());
    add("PURSER_TESTNET_CA", fs::absolute(w->ca_file()).string());
    add("PURSER_TESTNET_KEYSTORE", fs::absolute(w->keystore_file()).string());
    add("PURSER_TESTNET_PASSWORD_FILE", fs::absolute(w->password_file()).string());
    add("PURSER_TESTNET_CHAIN_ID", std::to_string(protocol::testnet_chain_id));
    add("PURSER_TESTNET_NETWORK", std::string(protocol::testnet_caip2));
    add("PURSER_TESTNET_V1_NETWORK", std::string(protocol::testnet_v1_name));
    add("PURSER_TESTNET_ASSET", w->chain().token().to_checksum());
    add("PURSER_TESTNET_PAYER", std::string(payer_account.address));
    add("PURSER_TESTNET_PAYEE", std::string(payee_account.address));
    add("PURSER_TESTNET_FACILITATOR_SIGNER", w->facilitator().signer_address().to_checksum());
    PURSER_CHECK(write_text(w->env_file(), env));
    return w;
}

void world::stop() {
    if (!impl_) return;
    for (auto* s : {&impl_->hostile_https, &impl_->hostile_http, &impl_->v1_https, &impl_->v1_http,
                    &impl_->v2_https, &impl_->v2_http, &impl_->facilitator_server, &impl_->rpc_server}) {
        if (*s) (*s)->stop();
    }
}

chain& world::chain() { return *impl_->chain; }
facilitator& world::facilitator() { return *impl_->facilitator; }
merchant& world::merchant_v2() { return *impl_->v2; }
merchant& world::merchant_v1() { return *impl_->v1; }
merchant& world::merchant_hostile() { return *impl_->hostile; }
std::string world::rpc_url() const { return impl_->rpc_server->base_url(); }
std::string world::facilitator_url() const { return impl_->facilitator_server->base_url(); }
std::string world::merchant_http_url() const { return impl_->v2_http->base_url(); }
std::string world::merchant_https_url() const { return impl_->v2_https->base_url(); }
std::string world::merchant_v1_http_url() const { return impl_->v1_http->base_url(); }
std::string world::merchant_v1_https_url() const { return impl_->v1_https->base_url(); }
std::string world::merchant_hostile_http_url() const { return impl_->hostile_http->base_url(); }
std::string world::merchant_hostile_https_url() const { return impl_->hostile_https->base_url(); }
fs::path world::ca_file() const { return impl_->options.dir / "ca.pem"; }
fs::path world::keystore_file() const { return impl_->options.dir / "keystore.json"; }
fs::path world::password_file() const { return impl_->options.dir / "password.txt"; }
fs::path world::env_file() const { return impl_->options.dir / "testnet.env"; }

}  // namespace purser::testnet
