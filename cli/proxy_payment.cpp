#include "proxy_payment.hpp"

#include <iostream>
#include <map>

#include "purser/chain/json_rpc.hpp"
#include "purser/chain/reads.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/proxy/payment_flow.hpp"
#include "purser/proxy/payment_options.hpp"
#include "purser/store/store.hpp"
#include "purser/testnet/env_file.hpp"
#include "purser/wallet/signer.hpp"
#include "options.hpp"
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

}  // namespace

result<payment_setup> make_payment_setup(const proxy::config& cfg,
                                         std::unique_ptr<secret_string> password,
                                         std::shared_ptr<proxy::metrics> stats) {
    auto registry =
        std::make_shared<const protocol::network_registry>(protocol::network_registry::builtin());
    auto oracle = std::make_shared<rpc_oracle>();
    PURSER_TRY(section, proxy::parse_payment_section(cfg.payment, *registry));
    for (const auto& [network, url] : section.rpc) {
        PURSER_TRY(client, rpc_client(url, "payment.rpc." + network));
        oracle->add(network, std::move(client));
    }
    proxy::payment_flow_options flow = std::move(section.flow);
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
    store_options.commit_delay_us = cfg.store_commit_delay_us;
    // With a fleet database every ledger change also queues for shipping; without one, none
    // does, so a single-machine store does not grow an outbox nobody drains.
    store_options.outbox = cfg.fleet.enabled() ? store::outbox_mode::on : store::outbox_mode::off;
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
            PURSER_TRY(read, wallet_password(cfg));
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
    if (cfg.fleet.enabled()) {
        proxy::fleet_lease_options fo;
        fo.settings = cfg.fleet;
        if (cfg.fleet.password_file) {
            PURSER_TRY(pw, read_password_file(*cfg.fleet.password_file, "fleet.password_file"));
            fo.password = std::move(pw);
        }
        flow.budgets_of = [fleet = cfg.fleet](const std::string& agent) { return fleet.budgets_of(agent); };
        out.fleet = std::make_shared<proxy::fleet_leases>(ledger, std::move(fo), flow.stats);
        // One pass before the listener opens: agents find their leases there from the start.
        out.fleet->tick();
    }
    out.hook = std::make_shared<proxy::payment_flow>(ledger, signer, registry, flow);
    return out;
}

result<proxy::iou_policy> configured_iou_policy(const proxy::config& cfg) {
    PURSER_TRY(section, proxy::parse_payment_section(cfg.payment, protocol::network_registry::builtin()));
    return section.flow.iou;
}

}  // namespace purser::cli
