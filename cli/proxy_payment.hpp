// What `purser proxy` pays with: the store, the unlocked wallet and the payment flow options.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "purser/protocol/result.hpp"
#include "purser/proxy/authenticator.hpp"
#include "purser/proxy/config.hpp"
#include "purser/proxy/fleet_leases.hpp"
#include "purser/proxy/payment_flow.hpp"
#include "purser/proxy/metrics.hpp"
#include "purser/proxy/payment_hook.hpp"
#include "purser/store/fill_watch.hpp"
#include "wallet_unlock.hpp"

namespace purser::cli {

struct payment_setup {
    std::shared_ptr<proxy::payment_hook> hook;
    std::shared_ptr<proxy::authenticator> agents;
    /// Whether the store knows an agent (a default_agent that SIGHUP brings is checked too).
    std::function<result<void>(const std::string& name)> check_agent;
    /// Warns on stderr when the store passes 80 % of store_max_size.
    std::shared_ptr<store::fill_watch> fill_watch;
    /// The open store (the admin API reads and freezes through it).
    std::shared_ptr<store::store> ledger;
    /// A wallet key is loaded (readiness).
    bool wallet_unlocked = false;
    /// The fleet lease keeper when fleet.database is set (and payments are on); it has made its
    /// first pass (leases acquired when the database answered) but its thread is not started.
    std::shared_ptr<proxy::fleet_leases> fleet;
};

/// Opens the store at cfg.store_dir (agents and ledger), unlocks cfg.keystore with the password
/// from cfg.wallet_password_file / PURSER_WALLET_PASSWORD / a prompt (wallet_password), and
/// builds the payment flow from cfg.payment (proxy::parse_payment_section; unknown keys are
/// errors naming them). With cfg.no_payments the hook passes every 402
/// through, but agents are still authenticated against the store. A missing keystore is not
/// fatal: the proxy runs and declines every payment `wallet_locked`. A wrong password is.
/// `password`, when given, was read earlier (before `--detach` took the terminal away).
/// `stats`, when given, counts the payment flow's declines and payments.
[[nodiscard]] result<payment_setup> make_payment_setup(const proxy::config& cfg,
                                                       std::unique_ptr<secret_string> password = nullptr,
                                                       std::shared_ptr<proxy::metrics> stats = nullptr);

/// The `payment.iou` section of `cfg` (deposit policy and escrow caps), validated.
/// Errors: invalid_value or wrong_type naming the key.
[[nodiscard]] result<proxy::iou_policy> configured_iou_policy(const proxy::config& cfg);

}  // namespace purser::cli
