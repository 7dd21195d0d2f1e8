#include "proxy_payment.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

#include "purser/protocol/errc.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/proxy/payment_flow.hpp"
#include "purser/store/store.hpp"
#include "purser/wallet/signer.hpp"
#include "wallet_unlock.hpp"

namespace purser::cli {
namespace {

using protocol::errc;

result<proxy::payment_flow_options> flow_options(const nlohmann::json& j) {
    proxy::payment_flow_options out;
    if (!j.is_object()) return fail(errc::wrong_type, "payment: expected a JSON object");
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
        } else {
            return fail(errc::invalid_value, "payment: unknown key '" + key + "'");
        }
    }
    return out;
}

// The password: the configured file first, then what every wallet command accepts.
result<std::string> proxy_wallet_password(const proxy::config& cfg) {
    if (cfg.wallet_password_file) {
        std::ifstream in(*cfg.wallet_password_file, std::ios::binary);
        if (!in) {
            return fail(errc::invalid_value,
                        "cannot read wallet_password_file " + cfg.wallet_password_file->string());
        }
        std::stringstream ss;
        ss << in.rdbuf();
        std::string pw = ss.str();
        while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
        return pw;
    }
    return read_wallet_password();
}

}  // namespace

result<payment_setup> make_payment_setup(const proxy::config& cfg) {
    PURSER_TRY(flow, flow_options(cfg.payment));
    auto opened = store::store::open(cfg.store_dir);
    if (!opened) return tl::unexpected(opened.error());
    std::shared_ptr<store::store> ledger(std::move(*opened));

    payment_setup out;
    out.agents = std::make_shared<proxy::store_authenticator>(ledger);
    if (cfg.no_payments) {
        out.hook = std::make_shared<proxy::pass_through_hook>();
        return out;
    }

    std::shared_ptr<wallet::signer> signer;
    std::error_code exists_ec;
    if (std::filesystem::exists(cfg.keystore, exists_ec)) {
        PURSER_TRY(password, proxy_wallet_password(cfg));
        secret_string guarded(std::move(password));
        auto key = decrypt_keystore(cfg.keystore, guarded.get());
        if (!key) return tl::unexpected(key.error());
        signer = std::make_shared<wallet::local_signer>(std::move(*key));
        std::cerr << "purser: wallet " << signer->address().to_checksum() << " unlocked\n";
    } else {
        std::cerr << "purser: no keystore at " << cfg.keystore.string()
                  << "; every payment will be declined wallet_locked\n";
    }
    auto registry =
        std::make_shared<const protocol::network_registry>(protocol::network_registry::builtin());
    out.hook = std::make_shared<proxy::payment_flow>(ledger, signer, registry, flow);
    return out;
}

}  // namespace purser::cli
