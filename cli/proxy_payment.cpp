#include "proxy_payment.hpp"

#include <iostream>
#include <map>

#include "purser/chain/json_rpc.hpp"
#include "purser/chain/reads.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/proxy/payment_flow.hpp"
#include "purser/store/store.hpp"
#include "purser/testnet/env_file.hpp"
#include "purser/wallet/signer.hpp"
#include "wallet_unlock.hpp"

namespace purser::cli {
namespace {

using protocol::errc;

/// Asks a JSON-RPC endpoint per network (CAIP-2) whether an EIP-3009 authorization was used.
/// One client per network; calls are thread-safe and each has its own deadline.
class rpc_oracle final : public proxy::authorization_oracle {
public:
    void add(const std::string& network, std::unique_ptr<chain::json_rpc_client> client) {
        clients_[network] = std::move(client);
    }
    [[nodiscard]] bool empty() const { return clients_.empty(); }
    bool covers(const std::string& network) const override { return clients_.contains(network); }
    result<bool> authorization_used(const std::string& network, const protocol::address& token,
                                    const protocol::address& payer,
                                    const protocol::bytes32& nonce) override {
        auto it = clients_.find(network);
        if (it == clients_.end()) return fail(errc::invalid_value, "no RPC for " + network);
        return chain::authorization_used(*it->second, token, payer, nonce);
    }
    result<std::pair<protocol::uint256, protocol::uint256>> escrow_channel(
        const std::string& network, const protocol::bytes32& channel) override {
        auto it = clients_.find(network);
        if (it == clients_.end()) return fail(errc::invalid_value, "no RPC for " + network);
        PURSER_TRY(held, chain::read_escrow_channel(*it->second, protocol::batch_settlement_contract(),
                                                   channel));
        return std::pair{held.balance, held.total_claimed};
    }

private:
    std::map<std::string, std::unique_ptr<chain::json_rpc_client>> clients_;
};

result<std::unique_ptr<chain::json_rpc_client>> rpc_client(const std::string& url, const std::string& where) {
    auto endpoint = chain::parse_rpc_url(url);
    if (!endpoint) return fail(errc::invalid_value, where + ": " + endpoint.error().detail);
    return std::make_unique<chain::json_rpc_client>(std::move(*endpoint));
}

/// payment.iou: {"deposit": "1.00", "max_channel": "5", "max_total": "20"}, token units as
/// decimal strings (never JSON numbers: money is not floating point).
result<proxy::iou_policy> iou_options(const nlohmann::json& j) {
    if (!j.is_object()) return fail(errc::wrong_type, "payment.iou: expected a JSON object");
    proxy::iou_policy out;
    for (const auto& [key, value] : j.items()) {
        const std::string where = "payment.iou." + key;
        if (key != "deposit" && key != "max_channel" && key != "max_total") {
            return fail(errc::invalid_value, "payment.iou: unknown key '" + key + "'");
        }
        if (!value.is_string()) {
            return fail(errc::wrong_type, where + ": expected an amount as a string, e.g. \"1.00\"");
        }
        // Checked at 18 decimals (as many as any token here has; 77 would overflow a uint256 past
        // 1.15 units); the token's own decimals apply when a channel is funded.
        if (auto v = protocol::parse_units(value.get<std::string>(), 18); !v) {
            return fail(errc::invalid_value, where + ": " + v.error().message());
        }
        (key == "deposit" ? out.deposit : key == "max_channel" ? out.max_channel : out.max_total) =
            value.get<std::string>();
    }
    return out;
}

result<proxy::payment_flow_options> flow_options(const nlohmann::json& j,
                                                 const protocol::network_registry& registry,
                                                 rpc_oracle& oracle) {
    proxy::payment_flow_options out;
    if (!j.is_object()) return fail(errc::wrong_type, "payment: expected a JSON object");
    auto positive = [](const nlohmann::json& v, const std::string& where) -> result<std::uint64_t> {
        if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0) {
            return fail(errc::invalid_value, where + ": expected a positive integer");
        }
        return v.get<std::uint64_t>();
    };
    for (const auto& [key, value] : j.items()) {
        if (key == "max_window_seconds") {
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0) {
                return fail(errc::invalid_value, "payment.max_window_seconds: expected a positive integer");
            }
            out.max_window_seconds = value.get<std::uint64_t>();
        } else if (key == "networks") {
            if (!value.is_array()) return fail(errc::wrong_type, "payment.networks: expected a list");
            for (const auto& n : value) {
                if (!n.is_string()) return fail(errc::wrong_type, "payment.networks: expected strings");
                out.networks.insert(n.get<std::string>());
            }
        } else if (key == "rpc") {
            if (!value.is_object()) {
                return fail(errc::wrong_type, "payment.rpc: expected {\"<network>\": \"<url>\"}");
            }
            for (const auto& [network, url] : value.items()) {
                const std::string where = "payment.rpc." + network;
                const auto* net = registry.find(network);
                if (net == nullptr) return fail(errc::invalid_value, where + ": unknown network");
                if (!url.is_string()) return fail(errc::wrong_type, where + ": expected a URL string");
                PURSER_TRY(client, rpc_client(url.get<std::string>(), where));
                oracle.add(net->caip2, std::move(client));
            }
        } else if (key == "proof_interval_ms") {
            PURSER_TRY(n, positive(value, "payment.proof_interval_ms"));
            out.proof_interval_ms = n;
        } else if (key == "skew_margin_seconds") {
            if (!value.is_number_unsigned()) {
                return fail(errc::invalid_value, "payment.skew_margin_seconds: expected an integer");
            }
            out.skew_margin_seconds = value.get<std::uint64_t>();
        } else if (key == "prefer") {
            if (value != "iou" && value != "exact") {
                return fail(errc::invalid_value, "payment.prefer: expected \"iou\" or \"exact\"");
            }
            out.iou.prefer = value == "iou";
        } else if (key == "iou") {
            PURSER_TRY(iou, iou_options(value));
            iou.prefer = out.iou.prefer;
            out.iou = std::move(iou);
        } else {
            return fail(errc::invalid_value, "payment: unknown key '" + key + "'");
        }
    }
    return out;
}

}  // namespace

result<std::unique_ptr<secret_string>> proxy_wallet_password(const proxy::config& cfg) {
    if (cfg.wallet_password_file) {
        PURSER_TRY(pw, read_password_file(*cfg.wallet_password_file, "wallet_password_file"));
        return std::make_unique<secret_string>(std::move(pw));
    }
    PURSER_TRY(pw, read_wallet_password());
    return std::make_unique<secret_string>(std::move(pw));
}

result<payment_setup> make_payment_setup(const proxy::config& cfg,
                                         std::unique_ptr<secret_string> password,
                                         std::shared_ptr<proxy::metrics> stats) {
    auto registry =
        std::make_shared<const protocol::network_registry>(protocol::network_registry::builtin());
    auto oracle = std::make_shared<rpc_oracle>();
    PURSER_TRY(flow, flow_options(cfg.payment, *registry, *oracle));
    flow.stats = std::move(stats);
    if (cfg.testnet_env) {
        // The local testnet is paid only when the operator names it, and its own RPC proves
        // what settled there.
        auto env = testnet::read_env_file(*cfg.testnet_env);
        if (!env) return fail(errc::invalid_value, "testnet_env: " + env.error().detail);
        auto rpc = env->find("PURSER_TESTNET_RPC");
        if (rpc == env->end()) {
            return fail(errc::invalid_value,
                        "testnet_env: " + cfg.testnet_env->string() + " names no PURSER_TESTNET_RPC");
        }
        flow.testnet = true;
        if (!oracle->covers(std::string(protocol::testnet_caip2))) {
            PURSER_TRY(client, rpc_client(rpc->second, "testnet_env"));
            oracle->add(std::string(protocol::testnet_caip2), std::move(client));
        }
    }
    if (!oracle->empty()) flow.oracle = oracle;
    store::open_options store_options;
    store_options.max_size_bytes = cfg.store_max_size;
    store_options.group_commit = !cfg.no_group_commit;
    auto opened = store::store::open(cfg.store_dir, store_options);
    if (!opened) return tl::unexpected(opened.error());
    std::shared_ptr<store::store> ledger(std::move(*opened));
    payment_setup out;
    out.ledger = ledger;
    out.fill_watch = std::make_shared<store::fill_watch>(
        ledger, [](const std::string& line) { std::cerr << ("purser: " + line + "\n"); });
    (void)out.fill_watch->check();  // a store already past 80 % says so at start-up
    out.check_agent = [ledger, dir = cfg.store_dir](const std::string& name) -> result<void> {
        if (auto a = ledger->get_agent(name); !a) {
            return fail(errc::invalid_value, "default_agent '" + name + "' is not an agent in " +
                                                 dir.string() + " (" + a.error().message() +
                                                 "); create it with `purser agent add " + name + "`");
        }
        return {};
    };
    // A default agent the store does not know would turn every credential-less request into a
    // 407 at run time; say so now, while someone is watching the start-up.
    if (cfg.default_agent) {
        if (auto known = out.check_agent(*cfg.default_agent); !known) return tl::unexpected(known.error());
    }

    out.agents = std::make_shared<proxy::store_authenticator>(ledger);
    if (cfg.no_payments) {
        out.hook = std::make_shared<proxy::pass_through_hook>();
        return out;
    }

    std::shared_ptr<wallet::signer> signer;
    std::error_code exists_ec;
    if (std::filesystem::exists(cfg.keystore, exists_ec)) {
        if (!password) {
            PURSER_TRY(read, proxy_wallet_password(cfg));
            password = std::move(read);
        }
        auto key = decrypt_keystore(cfg.keystore, password->get());
        if (!key) return tl::unexpected(key.error());
        signer = std::make_shared<wallet::local_signer>(std::move(*key));
        out.wallet_unlocked = true;
        std::cerr << "purser: wallet " << signer->address().to_checksum() << " unlocked\n";
    } else {
        std::cerr << "purser: no keystore at " << cfg.keystore.string()
                  << "; every payment will be declined wallet_locked\n";
    }
    out.hook = std::make_shared<proxy::payment_flow>(ledger, signer, registry, flow);
    return out;
}

}  // namespace purser::cli
