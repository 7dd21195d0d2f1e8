// purser wallet new | import | address | balance | fund | export
#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "command_table.hpp"
#include "commands.hpp"
#include "config_resolver.hpp"
#include "options.hpp"
#include "purser/chain/reads.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/wallet/errc.hpp"
#include "purser/wallet/keystore.hpp"
#include "purser/protocol/payment_link.hpp"
#include "rpc_options.hpp"
#include "terminal_qr.hpp"
#include "wallet_unlock.hpp"

namespace purser::cli {
namespace {

using nlohmann::json;
using protocol::uint256;


/// Reads a small secret file into a wiped string (for --private-key-file).
result<std::unique_ptr<secret_string>> read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(wallet::errc::io_error, "cannot read " + path);
    std::string text(4096, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return std::make_unique<secret_string>(std::move(text));
}

/// The new wallet's password, never empty: an empty one encrypts the key with nothing anyone
/// would have to guess.
result<std::unique_ptr<secret_string>> new_wallet_password(const proxy::config& cfg) {
    PURSER_TRY(pw, wallet_password(cfg, true));
    if (pw->get().empty()) {
        return fail(protocol::errc::invalid_value,
                    "refusing an empty wallet password (set PURSER_WALLET_PASSWORD_FILE, "
                    "PURSER_WALLET_PASSWORD or answer the prompt)");
    }
    return pw;
}

/// Before --force replaces a keystore, copies it to <file>.bak-<unix seconds> (mode 0600,
/// never over an existing file), so a mistyped --force does not destroy the only copy of a key.
/// Returns the backup path, or an empty path when there was nothing to back up.
result<std::filesystem::path> back_up_keystore(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::filesystem::path{};
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(wallet::errc::io_error, "cannot read " + file.string() + " to back it up");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    std::filesystem::path bak = file;
    bak += ".bak-" + std::to_string(now_s);
    const int fd = ::open(bak.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail(wallet::errc::io_error, "cannot create backup " + bak.string());
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    const bool ok = done == text.size() && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return fail(wallet::errc::io_error, "cannot write backup " + bak.string());
    return bak;
}

result<void> refuse_if_funded(const options& opts, const std::filesystem::path& path);

/// Writes the keystore; with --force, after backing up the one it replaces.
int write_new_keystore(const options& opts, const std::filesystem::path& path,
                       const wallet::private_key& key, const std::string& password) {
    const bool force = opts.has("force");
    if (force) {
        if (auto funded = refuse_if_funded(opts, path); !funded) return report(funded.error());
        auto bak = back_up_keystore(path);
        if (!bak) return report(bak.error());
        if (!bak->empty()) std::cerr << "previous keystore kept as " << bak->string() << "\n";
    }
    if (auto w = wallet::write_keystore(path, key, password, {}, force); !w) return report(w.error());
    std::cerr << "keystore written to " << path.string() << "\n";
    std::cout << key.address().to_checksum() << "\n";
    return 0;
}

result<std::unique_ptr<secret_string>> import_password(const proxy::config& cfg) {
    if (const char* f = std::getenv("PURSER_IMPORT_PASSWORD_FILE"); f != nullptr && *f != '\0') {
        PURSER_TRY(pw, read_password_file(f, "PURSER_IMPORT_PASSWORD_FILE"));
        return std::make_unique<secret_string>(std::move(pw));
    }
    if (const char* p = std::getenv("PURSER_IMPORT_PASSWORD"); p != nullptr) {
        return std::make_unique<secret_string>(std::string(p));
    }
    return wallet_password(cfg);
}

int cmd_new(const words& args) {
    int rc = 0;
    auto opts = parse_command("wallet new", args, rc);
    if (!opts) return rc;
    auto cfg = resolve_config(*opts);
    if (!cfg) return report(cfg.error());
    const auto& path = (*cfg)->keystore;
    std::error_code ec;
    if (!opts->has("force") && std::filesystem::exists(path, ec)) {
        return report(path.string() + " already exists (use --force to replace it)");
    }
    auto pw = new_wallet_password(**cfg);
    if (!pw) return report(pw.error());
    auto key = wallet::private_key::generate();
    if (!key) return report(key.error());
    return write_new_keystore(*opts, path, *key, (*pw)->get());
}

int cmd_import(const words& args) {
    int rc = 0;
    auto opts = parse_command("wallet import", args, rc);
    if (!opts) return rc;
    const bool from_file = opts->has("private-key-file");
    const bool from_ks = opts->has("from-keystore");
    if (from_file == from_ks) {
        return report("wallet import needs exactly one of --private-key-file F or --from-keystore F", 2);
    }
    auto cfg = resolve_config(*opts);
    if (!cfg) return report(cfg.error());
    const auto& path = (*cfg)->keystore;
    std::error_code ec;
    if (!opts->has("force") && std::filesystem::exists(path, ec)) {
        return report(path.string() + " already exists (use --force to replace it)");
    }
    result<wallet::private_key> key = fail(wallet::errc::bad_key);
    if (from_file) {
        auto text = read_secret_file(*opts->get("private-key-file"));
        if (!text) return report(text.error());
        key = wallet::private_key::from_hex((*text)->get());
        if (!key) return report("the private key file does not hold 64 hex digits of a valid key");
    } else {
        auto src_pw = import_password(**cfg);
        if (!src_pw) return report(src_pw.error());
        key = decrypt_keystore(*opts->get("from-keystore"), (*src_pw)->get());
        if (!key) {
            auto e = key.error();
            e.detail = *opts->get("from-keystore") + ": " + e.detail;
            return report(e);
        }
    }
    auto pw = new_wallet_password(**cfg);
    if (!pw) return report(pw.error());
    return write_new_keystore(*opts, path, *key, (*pw)->get());
}

int cmd_address(const words& args) {
    int rc = 0;
    auto opts = parse_command("wallet address", args, rc);
    if (!opts) return rc;
    // The v3 keystore records the address in the clear: showing it needs no password.
    auto path = keystore_path(*opts);
    if (!path) return report(path.error());
    auto addr = wallet::keystore_address(*path);
    if (!addr) return report(addr.error());
    std::cout << addr->to_checksum() << "\n";
    return 0;
}

int cmd_export(const words& args) {
    int rc = 0;
    auto opts = parse_command("wallet export", args, rc);
    if (!opts) return rc;
    if (!opts->has("i-understand")) {
        return report("wallet export prints the private key in the clear; anyone who sees it can "
                      "spend the wallet. Re-run with --i-understand to proceed.", 2);
    }
    auto key = unlock_key(*opts);
    if (!key) return report(key.error());
    // The hex text is a copy of the secret: keep it in a string that wipes itself.
    const secret_string hex(protocol::to_hex(key->reveal()));
    std::cout << hex.get() << "\n" << std::flush;
    return 0;
}

// ---- balance and fund ----------------------------------------------------------------------

/// Everything balance and fund need: who, which chain, which token, and a client to ask.
struct chain_view {
    std::unique_ptr<chain::json_rpc_client> rpc;
    protocol::address holder;
    std::uint64_t chain_id = 0;
    std::string network_name;  ///< CAIP-2 id (plus v1 name when known).
    protocol::address asset;
    std::string symbol = "tokens";
    unsigned decimals = 0;
};

result<uint256> balance_of(chain_view& v) {
    // balanceOf(address): selector 0x70a08231, then the address left-padded to 32 bytes.
    const std::string data = "0x70a08231" + chain::abi_address(v.holder);
    return chain::eth_call_uint(*v.rpc, v.asset, data, "balanceOf");
}

result<chain_view> open_chain(const options& opts, bool need_holder) {
    chain_view v;
    PURSER_TRY(rpc, rpc_from_options(opts));
    v.rpc = std::move(rpc);

    if (need_holder) {
        if (auto a = opts.get("address")) {
            PURSER_TRY(addr, protocol::address::parse(*a));
            v.holder = addr;
        } else {
            // The address field of the keystore: reading a balance needs no password.
            PURSER_TRY(path, keystore_path(opts));
            auto addr = wallet::keystore_address(path);
            std::error_code ec;
            if (!addr && !std::filesystem::exists(path, ec)) {
                return fail(protocol::errc::invalid_value, "no wallet at " + path.string() +
                                                   ": create one with `purser wallet new`, or pass --address");
            }
            if (!addr) return tl::unexpected(addr.error());
            v.holder = *addr;
        }
    }

    const auto registry = protocol::network_registry::builtin();
    const protocol::network_info* net = nullptr;
    PURSER_TRY(chain, chain::rpc_chain_id(*v.rpc));
    v.chain_id = chain;
    if (auto n = opts.get("network")) {
        net = registry.find(*n);
        if (net == nullptr) return fail(protocol::errc::unknown_network, *n);
        if (net->chain_id != v.chain_id) {
            return fail(protocol::errc::invalid_value,
                        "--network " + *n + " is chain " + std::to_string(net->chain_id) +
                            " but the RPC serves chain " + std::to_string(v.chain_id));
        }
    } else {
        for (const auto& candidate : registry.all()) {
            if (candidate.chain_id == v.chain_id) {
                net = &candidate;
                break;
            }
        }
    }
    v.network_name = net != nullptr ? net->caip2 : "eip155:" + std::to_string(v.chain_id);
    if (net != nullptr && !net->v1_name.empty()) v.network_name += " (" + net->v1_name + ")";

    const protocol::asset_info* known = nullptr;
    if (auto a = opts.get("asset")) {
        PURSER_TRY(addr, protocol::address::parse(*a));
        v.asset = addr;
        if (net != nullptr) known = registry.find_asset(*net, addr);
    } else {
        if (net == nullptr || net->assets.empty()) {
            return fail(protocol::errc::unknown_network,
                        "chain " + std::to_string(v.chain_id) + " has no known USDC: pass --asset ADDR");
        }
        known = &net->assets.front();
        for (const auto& as : net->assets) {
            if (as.symbol == "USDC") {
                known = &as;
                break;
            }
        }
        v.asset = known->token;
    }
    if (known != nullptr) {
        v.symbol = known->symbol;
        v.decimals = known->decimals;
    } else {
        // An asset we do not know: ask the token (decimals(), selector 0x313ce567).
        PURSER_TRY(dec, chain::eth_call_uint(*v.rpc, v.asset, "0x313ce567", "decimals"));
        if (!dec.fits_bits(8) || dec.low64() > 77) return fail(protocol::errc::invalid_value, "decimals() out of range");
        v.decimals = static_cast<unsigned>(dec.low64());
    }
    return v;
}

std::string human(const uint256& atomic, const chain_view& v) {
    return protocol::format_units(atomic, v.decimals) + " " + v.symbol;
}

/// --force must not throw away the only copy of a funded key. With an RPC configured (--rpc or
/// PURSER_TESTNET_RPC) the USDC balance of the wallet being replaced is read first, and any
/// balance refuses the overwrite. Without an RPC, or when it does not answer, the backup that
/// --force writes is all that protects the key: say so.
result<void> refuse_if_funded(const options& opts, const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return {};
    const char* env_rpc = std::getenv("PURSER_TESTNET_RPC");
    if (!opts.get("rpc") && (env_rpc == nullptr || *env_rpc == '\0')) {
        std::cerr << "purser: warning: no --rpc, so whether the wallet being replaced holds funds "
                     "was not checked; it is backed up below\n";
        return {};
    }
    auto v = open_chain(opts, true);
    auto bal = v ? balance_of(*v) : result<uint256>(tl::unexpected(v.error()));
    if (!bal) {
        std::cerr << "purser: warning: could not read the balance of the wallet being replaced ("
                  << bal.error().message() << "); it is backed up below\n";
        return {};
    }
    if (!bal->is_zero()) {
        return fail(protocol::errc::invalid_value,
                    path.string() + " is the wallet " + v->holder.to_checksum() + ", which holds " +
                        human(*bal, *v) + " on " + v->network_name +
                        ": move the funds out first (`purser wallet export` prints its key); "
                        "--force does not replace a funded wallet");
    }
    return {};
}

int cmd_balance(const words& args) {
    int rc = 0;
    auto opts = parse_command("wallet balance", args, rc);
    if (!opts) return rc;
    auto v = open_chain(*opts, true);
    if (!v) return report(v.error());
    auto bal = balance_of(*v);
    if (!bal) return report(bal.error());
    std::cout << "address: " << v->holder.to_checksum() << "\n"
              << "network: " << v->network_name << "\n"
              << "asset:   " << v->symbol << " " << v->asset.to_checksum() << "\n"
              << "balance: " << human(*bal, *v) << " (" << bal->to_decimal() << " atomic)\n";
    return 0;
}

int cmd_fund(const words& args) {
    int rc = 0;
    auto opts = parse_command("wallet fund", args, rc);
    if (!opts) return rc;
    auto amount_text = opts->get("amount");
    if (!amount_text) return report("wallet fund needs --amount (in token units, e.g. 100)", 2);
    std::uint64_t timeout_s = 600;
    if (auto t = opts->get("timeout")) {
        auto parsed = uint256::from_decimal(*t);
        if (!parsed || !parsed->fits_bits(32)) return report("--timeout must be a number of seconds", 2);
        timeout_s = parsed->low64();
    }
    auto v = open_chain(*opts, true);
    if (!v) return report(v.error());
    auto amount = protocol::parse_units(*amount_text, v->decimals);
    if (!amount) return report(amount.error());
    if (amount->is_zero()) return report("--amount must be more than zero", 2);

    if (v->chain_id == protocol::testnet_chain_id) {
        // The local testnet has a faucet: mint straight to the wallet.
        auto tx = v->rpc->call("testnet_mint", json::array({v->holder.to_checksum(), amount->to_decimal()}));
        if (!tx) return report(tx.error());
        auto bal = balance_of(*v);
        std::cout << "minted " << human(*amount, *v) << " to " << v->holder.to_checksum() << "\n"
                  << "tx: " << (tx->is_string() ? tx->get<std::string>() : tx->dump()) << "\n";
        if (bal) std::cout << "balance: " << human(*bal, *v) << " (" << bal->to_decimal() << " atomic)\n";
        return 0;
    }

    auto start = balance_of(*v);
    if (!start) return report(start.error());
    auto target = start->add(*amount);
    if (!target) return report(target.error());
    std::cout << "send " << human(*amount, *v) << " (" << amount->to_decimal() << " atomic) to\n"
              << "  address: " << v->holder.to_checksum() << "\n"
              << "  network: " << v->network_name << "\n"
              << "  asset:   " << v->symbol << " " << v->asset.to_checksum() << "\n";
    // The same request as an EIP-681 link, and as a QR code a phone wallet can scan.
    const std::string link = protocol::erc20_transfer_link(v->asset, v->chain_id, v->holder, *amount);
    std::cout << "  link:    " << link << "\n";
    if (!opts->has("no-qr")) {
        if (auto qr = terminal_qr(link)) std::cout << *qr;
    }
    std::cout << std::flush;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    uint256 now_bal = *start;
    while (true) {
        const auto received = now_bal >= *start ? *now_bal.sub(*start) : uint256();
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
        std::cerr << "\rwaiting: received " << human(received, *v) << " of " << human(*amount, *v) << " ("
                  << std::max<long long>(0, left.count()) << " s left)   " << std::flush;
        if (now_bal >= *target) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            std::cerr << "\n";
            return report("timed out after " + std::to_string(timeout_s) + " s; received " + human(received, *v));
        }
        std::this_thread::sleep_for(std::chrono::seconds(2));
        auto b = balance_of(*v);
        if (!b) {
            std::cerr << "\n";
            return report(b.error());
        }
        now_bal = *b;
    }
    std::cerr << "\n";
    std::cout << "funded: balance " << human(now_bal, *v) << " (" << now_bal.to_decimal() << " atomic)\n";
    return 0;
}

}  // namespace

int wallet_command(const words& args) {
    if (args.empty() || wants_help(args)) {
        (args.empty() ? std::cerr : std::cout) << group_help("wallet");
        return args.empty() ? 2 : 0;
    }
    const std::string sub = args[0];
    const words rest(args.begin() + 1, args.end());
    if (sub == "new") return cmd_new(rest);
    if (sub == "import") return cmd_import(rest);
    if (sub == "address") return cmd_address(rest);
    if (sub == "balance") return cmd_balance(rest);
    if (sub == "fund") return cmd_fund(rest);
    if (sub == "export") return cmd_export(rest);
    std::cerr << "purser wallet: unknown command '" << sub << "'\n" << group_help("wallet");
    return 2;
}

}  // namespace purser::cli
