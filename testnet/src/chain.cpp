// The chain's state machine: every call runs in one LMDB write transaction that is committed
// only when every rule passed, so a rejection moves nothing.
#include "purser/testnet/chain.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "purser/protocol/eip712.hpp"
#include "purser/protocol/keccak.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/result.hpp"
#include "purser/store/group_commit.hpp"
#include "purser/store/lmdb.hpp"
#include "purser/testnet/accounts.hpp"

namespace purser::testnet {
namespace {

using nlohmann::json;
namespace lmdb = purser::store::detail;
using protocol::channel_config;
using protocol::transfer_authorization;

constexpr std::uint64_t min_withdraw_delay = 900;
constexpr std::uint64_t max_withdraw_delay = 2592000;

std::string raw_key(char tag, const address& a) {
    return std::string(1, tag) + std::string(a.raw().begin(), a.raw().end());
}
std::string raw_key(char tag, const bytes32& b) {
    return std::string(1, tag) + std::string(b.begin(), b.end());
}

std::string encode_amount(const uint256& v) {
    auto b = v.to_be_bytes();
    return {b.begin(), b.end()};
}

result<uint256> decode_amount(const std::optional<std::string>& s) {
    if (!s) return uint256{};
    return uint256::from_be_bytes(protocol::byte_view(
        reinterpret_cast<const std::uint8_t*>(s->data()), s->size()));
}

// The chain's one database (LMDB's unnamed one) inside a transaction: reads copy their value
// out; writes need a write transaction.
class chain_txn {
public:
    chain_txn(const lmdb::read_txn& t, MDB_dbi dbi) : txn_(t), dbi_(dbi) {}
    chain_txn(lmdb::write_txn& t, MDB_dbi dbi) : txn_(t), write_(&t), dbi_(dbi) {}

    result<std::optional<std::string>> get(std::string_view key) const {
        PURSER_TRY(v, txn_.get(dbi_, key));
        if (!v) return std::optional<std::string>{};
        return std::optional<std::string>(std::string(*v));
    }
    result<void> put(std::string_view key, std::string_view value) {
        if (write_ == nullptr) return fail(errc::storage, "a read transaction cannot write");
        return write_->put(dbi_, key, value);
    }

private:
    const lmdb::txn_base& txn_;
    lmdb::write_txn* write_ = nullptr;
    MDB_dbi dbi_;
};

// Typed reads and writes inside one transaction.
class state {
public:
    explicit state(chain_txn& txn) : txn_(txn) {}

    result<uint256> balance(const address& a) const {
        PURSER_TRY(v, txn_.get(raw_key('b', a)));
        return decode_amount(v);
    }
    result<void> set_balance(const address& a, const uint256& v) {
        return txn_.put(raw_key('b', a), encode_amount(v));
    }
    result<uint256> supply() const {
        PURSER_TRY(v, txn_.get("supply"));
        return decode_amount(v);
    }
    result<void> set_supply(const uint256& v) { return txn_.put("supply", encode_amount(v)); }
    result<uint256> unsettled(const address& a) const {
        PURSER_TRY(v, txn_.get(raw_key('u', a)));
        return decode_amount(v);
    }
    result<void> set_unsettled(const address& a, const uint256& v) {
        return txn_.put(raw_key('u', a), encode_amount(v));
    }
    result<bool> auth_used(const address& a, const bytes32& nonce) const {
        std::string key = raw_key('a', a) + std::string(nonce.begin(), nonce.end());
        PURSER_TRY(v, txn_.get(key));
        return v.has_value();
    }
    result<void> mark_auth(const address& a, const bytes32& nonce) {
        return txn_.put(raw_key('a', a) + std::string(nonce.begin(), nonce.end()), "1");
    }

    // ERC-20 _transfer: both ends non-zero, checked arithmetic.
    result<void> transfer(const address& from, const address& to, const uint256& amount) {
        if (from.is_zero() || to.is_zero()) return fail(errc::invalid_request, "transfer to or from the zero address");
        PURSER_TRY(fb, balance(from));
        if (fb < amount) return fail(errc::insufficient_balance, "transfer amount exceeds balance");
        PURSER_TRY(nf, fb.sub(amount));
        PURSER_CHECK(set_balance(from, nf));
        PURSER_TRY(tb, balance(to));
        auto nt = tb.add(amount);
        if (!nt) return fail(errc::overflow, "recipient balance overflow");
        return set_balance(to, *nt);
    }

    result<channel_state> channel(const bytes32& id) const {
        PURSER_TRY(v, txn_.get(raw_key('c', id)));
        channel_state c;
        if (!v) return c;
        auto j = json::parse(*v, nullptr, false);
        if (j.is_discarded()) return fail(errc::storage, "corrupt channel record");
        PURSER_TRY(cfg, protocol::channel_config_from_json(j["config"]));
        c.exists = true;
        c.config = cfg;
        PURSER_TRY(bal, uint256::from_decimal(j.value("balance", "0")));
        PURSER_TRY(tc, uint256::from_decimal(j.value("totalClaimed", "0")));
        PURSER_TRY(wa, uint256::from_decimal(j.value("withdrawAmount", "0")));
        PURSER_TRY(rn, uint256::from_decimal(j.value("refundNonce", "0")));
        c.balance = bal;
        c.total_claimed = tc;
        c.withdraw_amount = wa;
        c.refund_nonce = rn;
        c.withdraw_requested_at = j.value("withdrawRequestedAt", std::uint64_t{0});
        return c;
    }
    result<void> set_channel(const bytes32& id, const channel_state& c) {
        json j{{"config", protocol::to_json(c.config)},
               {"balance", c.balance.to_decimal()},
               {"totalClaimed", c.total_claimed.to_decimal()},
               {"withdrawRequestedAt", c.withdraw_requested_at},
               {"withdrawAmount", c.withdraw_amount.to_decimal()},
               {"refundNonce", c.refund_nonce.to_decimal()}};
        return txn_.put(raw_key('c', id), j.dump());
    }

private:
    chain_txn& txn_;
};

json receipt_to_json(const receipt& r) {
    return json{{"hash", protocol::to_hex(r.hash)},
                {"blockNumber", r.block_number},
                {"status", r.status},
                {"kind", r.kind},
                {"logs", r.logs}};
}

result<receipt> receipt_from_json(const std::string& text) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(errc::storage, "corrupt receipt");
    receipt r;
    PURSER_TRY(h, protocol::bytes32_from_hex(j.value("hash", "")));
    r.hash = h;
    r.block_number = j.value("blockNumber", std::uint64_t{0});
    r.status = j.value("status", false);
    r.kind = j.value("kind", "");
    r.logs = j.value("logs", json::array());
    return r;
}

result<bytes32> typed_hash(const protocol::eip712::typed_data& td) {
    return protocol::eip712::hash_typed_data(td);
}

}  // namespace

std::uint64_t system_seconds() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

struct chain::impl {
    explicit impl(lmdb::env e) : env(std::move(e)) {}

    lmdb::env env;
    // Transactions hold it shared; nothing here resizes the map, which would take it exclusively.
    mutable lmdb::gate_mutex gate;
    MDB_dbi dbi = 0;
    // Concurrent transactions share one LMDB commit and so one device flush, as a block carries
    // many transactions; each runs in a nested transaction of its own, so a rejected one moves
    // nothing and leaves the others of its batch alone.
    lmdb::group_committer committer{[this] { return lmdb::write_txn::begin(env.get(), gate); }};
    clock_fn base_clock;
    // Seconds added by testnet_increaseTime, kept in the chain so a restart keeps the time it had.
    std::atomic<std::uint64_t> time_offset{0};
    std::uint64_t clock() const { return base_clock() + time_offset.load(); }
    address token;
    protocol::eip712_domain domain;
    std::uint64_t genesis = 0;

    [[nodiscard]] result<lmdb::read_txn> begin_read() const { return lmdb::read_txn::begin(env.get(), gate); }

    /// Runs `op` in the next batch of writes and returns once that batch is committed: its data
    /// flushed, its meta page's flush left to the next commit, so a crash of the testnet loses
    /// nothing and a crash of the machine may undo the last transactions (never corrupt the
    /// file), as a chain may drop its last blocks. `op` may run twice (lmdb::group_committer).
    result<void> write(const std::function<result<void>(chain_txn&)>& op) {
        return committer.run(
            [&](lmdb::write_txn& t) {
                chain_txn txn(t, dbi);
                return op(txn);
            },
            lmdb::group_committer::wait_for::committed);
    }

    // Runs `body` in a write transaction; on success records a receipt and commits (or, when
    // simulating, discards everything and returns a zero hash).
    template <class F>
    result<bytes32> run(const std::string& kind, const json& args, exec mode, F&& body) {
        if (mode == exec::simulate) {
            // Never committed; LMDB's writer lock orders it with the batches.
            PURSER_TRY(t, lmdb::write_txn::begin(env.get(), gate));
            chain_txn txn(t, dbi);
            state st(txn);
            json logs = json::array();
            PURSER_CHECK(body(st, logs));
            return bytes32{};
        }
        bytes32 hash{};
        PURSER_CHECK(write([&](chain_txn& txn) -> result<void> {
            state st(txn);
            json logs = json::array();
            PURSER_CHECK(body(st, logs));
            PURSER_TRY(seq_text, txn.get("meta:txcount"));
            std::uint64_t seq = seq_text ? std::stoull(*seq_text) : 0;
            // The hash commits to the call and its position in history, so equal calls differ.
            json canonical{{"kind", kind}, {"args", args}, {"seq", seq}, {"chainId", domain.chain_id}};
            receipt rc;
            rc.hash = protocol::keccak256(canonical.dump());
            rc.block_number = block_at(clock());
            rc.kind = kind;
            rc.logs = std::move(logs);
            PURSER_CHECK(txn.put("meta:txcount", std::to_string(seq + 1)));
            PURSER_CHECK(txn.put(raw_key('t', rc.hash), receipt_to_json(rc).dump()));
            hash = rc.hash;
            return {};
        }));
        return hash;
    }

    [[nodiscard]] std::uint64_t block_at(std::uint64_t t) const {
        return 1 + (t > genesis ? (t - genesis) / block_seconds : 0);
    }

    /// Who signed authorization `a`: a hash and an ecrecover, reading nothing the chain writes,
    /// so a caller computes it before run() takes the write lock and concurrent transfers
    /// recover their signers in parallel instead of one after another.
    result<address> authorization_signer(const transfer_authorization& a, protocol::byte_view sig,
                                         protocol::authorization_kind kind) const {
        return recover_signer(protocol::authorization_digest(domain, a, kind), sig);
    }

    // USDC's _transferWithAuthorization / _receiveWithAuthorization checks, then the transfer.
    // `signer` is authorization_signer's answer; it is judged in USDC's order, after the window
    // and the nonce.
    result<void> authorized_transfer(state& st, json& logs, const transfer_authorization& a,
                                     const result<address>& signer) {
        const uint256 now{clock()};
        if (!(now > a.valid_after)) return fail(errc::authorization_not_yet_valid, "validAfter is in the future");
        if (!(now < a.valid_before)) return fail(errc::authorization_expired, "validBefore has passed");
        PURSER_TRY(used, st.auth_used(a.from, a.nonce));
        if (used) return fail(errc::authorization_used, "authorization is used or canceled");
        if (!signer) return tl::unexpected(signer.error());
        if (*signer != a.from) return fail(errc::invalid_signature, "signature does not match the authorizer");
        PURSER_CHECK(st.mark_auth(a.from, a.nonce));
        PURSER_CHECK(st.transfer(a.from, a.to, a.value));
        logs.push_back({{"event", "AuthorizationUsed"}, {"authorizer", a.from.to_checksum()},
                        {"nonce", protocol::to_hex(a.nonce)}});
        logs.push_back({{"event", "Transfer"}, {"from", a.from.to_checksum()},
                        {"to", a.to.to_checksum()}, {"value", a.value.to_decimal()}});
        return {};
    }

    result<bytes32> checked_channel_id(const channel_config& c) const {
        if (c.token != token) return fail(errc::wrong_token, "channel token is not this chain's USDC");
        if (c.receiver_authorizer.is_zero()) return fail(errc::invalid_request, "receiverAuthorizer is zero");
        if (c.payer.is_zero() || c.receiver.is_zero()) return fail(errc::invalid_request, "payer or receiver is zero");
        if (c.withdraw_delay < min_withdraw_delay || c.withdraw_delay > max_withdraw_delay) {
            return fail(errc::invalid_request, "withdrawDelay outside 900..2592000");
        }
        return protocol::channel_id(domain.chain_id, c);
    }
};

chain::chain(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
chain::~chain() = default;

result<std::unique_ptr<chain>> chain::open(const std::filesystem::path& dir, clock_fn clock) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(errc::storage, "create " + dir.string() + ": " + ec.message());
    // 1 GiB of address space is plenty for a test chain and costs nothing until used. Every
    // connection thread of the testnet may hold a read snapshot at once.
    PURSER_TRY(env, lmdb::open_env(dir, {std::size_t{1} << 30, 0, 1024}));
    auto p = std::make_unique<impl>(std::move(env));
    p->base_clock = std::move(clock);
    PURSER_TRY(tok, address::parse(protocol::testnet_usdc));
    p->token = tok;
    p->domain = {"USDC", "2", protocol::testnet_chain_id, tok};
    {
        PURSER_TRY(t, lmdb::write_txn::begin(p->env.get(), p->gate));
        PURSER_TRY(dbi, lmdb::open_db(t, nullptr));
        p->dbi = dbi;
        chain_txn txn(t, dbi);
        PURSER_TRY(offset, txn.get("meta:time_offset"));
        if (offset) p->time_offset = std::stoull(*offset);
        PURSER_TRY(g, txn.get("meta:genesis"));
        if (g) {
            p->genesis = std::stoull(*g);
        } else {
            p->genesis = p->clock();
            PURSER_CHECK(txn.put("meta:genesis", std::to_string(p->genesis)));
        }
        PURSER_CHECK(t.commit());
    }
    return std::unique_ptr<chain>(new chain(std::move(p)));
}

std::uint64_t chain::chain_id() const { return impl_->domain.chain_id; }
const address& chain::token() const { return impl_->token; }
const protocol::eip712_domain& chain::token_domain() const { return impl_->domain; }
std::uint64_t chain::now() const { return impl_->clock(); }
std::uint64_t chain::block_number() const { return impl_->block_at(impl_->clock()); }

result<uint256> chain::balance_of(const address& who) const {
    PURSER_TRY(snapshot, impl_->begin_read());
    chain_txn txn(snapshot, impl_->dbi);
    return state(txn).balance(who);
}

result<uint256> chain::total_supply() const {
    PURSER_TRY(snapshot, impl_->begin_read());
    chain_txn txn(snapshot, impl_->dbi);
    return state(txn).supply();
}

result<bool> chain::authorization_state(const address& authorizer, const bytes32& nonce) const {
    PURSER_TRY(snapshot, impl_->begin_read());
    chain_txn txn(snapshot, impl_->dbi);
    return state(txn).auth_used(authorizer, nonce);
}

result<channel_state> chain::channel(const bytes32& channel_id) const {
    PURSER_TRY(snapshot, impl_->begin_read());
    chain_txn txn(snapshot, impl_->dbi);
    return state(txn).channel(channel_id);
}

result<uint256> chain::unsettled(const address& receiver) const {
    PURSER_TRY(snapshot, impl_->begin_read());
    chain_txn txn(snapshot, impl_->dbi);
    return state(txn).unsettled(receiver);
}

result<std::optional<receipt>> chain::get_receipt(const bytes32& hash) const {
    PURSER_TRY(snapshot, impl_->begin_read());
    chain_txn txn(snapshot, impl_->dbi);
    PURSER_TRY(v, txn.get(raw_key('t', hash)));
    if (!v) return std::optional<receipt>{};
    PURSER_TRY(r, receipt_from_json(*v));
    return std::optional<receipt>(r);
}

result<bytes32> chain::mint(const address& to, const uint256& amount) {
    json args{{"to", to.to_checksum()}, {"amount", amount.to_decimal()}};
    return impl_->run("mint", args, exec::commit, [&](state& st, json& logs) -> result<void> {
        if (to.is_zero()) return fail(errc::invalid_request, "mint to the zero address");
        if (amount.is_zero()) return fail(errc::invalid_request, "mint amount is zero");
        PURSER_TRY(s, st.supply());
        auto ns = s.add(amount);
        if (!ns) return fail(errc::overflow, "total supply overflow");
        PURSER_TRY(b, st.balance(to));
        auto nb = b.add(amount);
        if (!nb) return fail(errc::overflow, "balance overflow");
        PURSER_CHECK(st.set_supply(*ns));
        PURSER_CHECK(st.set_balance(to, *nb));
        logs.push_back({{"event", "Mint"}, {"to", to.to_checksum()}, {"amount", amount.to_decimal()}});
        logs.push_back({{"event", "Transfer"}, {"from", address().to_checksum()},
                        {"to", to.to_checksum()}, {"value", amount.to_decimal()}});
        return {};
    });
}

namespace {
json auth_args(const transfer_authorization& a, protocol::byte_view sig) {
    return json{{"from", a.from.to_checksum()},       {"to", a.to.to_checksum()},
                {"value", a.value.to_decimal()},      {"validAfter", a.valid_after.to_decimal()},
                {"validBefore", a.valid_before.to_decimal()}, {"nonce", protocol::to_hex(a.nonce)},
                {"signature", protocol::to_hex(sig)}};
}
}  // namespace

result<bytes32> chain::transfer_with_authorization(const transfer_authorization& auth,
                                                   protocol::byte_view signature, exec mode) {
    const auto signer = impl_->authorization_signer(auth, signature, protocol::authorization_kind::transfer);
    return impl_->run("transferWithAuthorization", auth_args(auth, signature), mode,
                      [&](state& st, json& logs) { return impl_->authorized_transfer(st, logs, auth, signer); });
}

result<bytes32> chain::receive_with_authorization(const address& caller,
                                                  const transfer_authorization& auth,
                                                  protocol::byte_view signature, exec mode) {
    json args = auth_args(auth, signature);
    args["caller"] = caller.to_checksum();
    const auto signer = impl_->authorization_signer(auth, signature, protocol::authorization_kind::receive);
    return impl_->run("receiveWithAuthorization", args, mode, [&](state& st, json& logs) -> result<void> {
        if (caller != auth.to) return fail(errc::caller_not_payee, "caller must be the payee");
        return impl_->authorized_transfer(st, logs, auth, signer);
    });
}

result<bytes32> chain::cancel_authorization(const address& authorizer, const bytes32& nonce,
                                            protocol::byte_view signature) {
    json args{{"authorizer", authorizer.to_checksum()}, {"nonce", protocol::to_hex(nonce)},
              {"signature", protocol::to_hex(signature)}};
    return impl_->run("cancelAuthorization", args, exec::commit, [&](state& st, json& logs) -> result<void> {
        PURSER_TRY(used, st.auth_used(authorizer, nonce));
        if (used) return fail(errc::authorization_used, "authorization is used or canceled");
        protocol::eip712::typed_data td;
        td.types["CancelAuthorization"] = {{"authorizer", "address"}, {"nonce", "bytes32"}};
        td.primary_type = "CancelAuthorization";
        td.domain = protocol::to_json(impl_->domain);
        td.message = json{{"authorizer", authorizer.to_checksum()}, {"nonce", protocol::to_hex(nonce)}};
        PURSER_TRY(digest, typed_hash(td));
        PURSER_TRY(signer, recover_signer(digest, signature));
        if (signer != authorizer) return fail(errc::invalid_signature, "signature does not match the authorizer");
        PURSER_CHECK(st.mark_auth(authorizer, nonce));
        logs.push_back({{"event", "AuthorizationCanceled"}, {"authorizer", authorizer.to_checksum()},
                        {"nonce", protocol::to_hex(nonce)}});
        return {};
    });
}

result<bytes32> chain::deposit(const channel_config& config, const uint256& amount,
                               const deposit_authorization& auth, exec mode) {
    json args{{"config", protocol::to_json(config)}, {"amount", amount.to_decimal()},
              {"validAfter", auth.valid_after.to_decimal()},
              {"validBefore", auth.valid_before.to_decimal()}, {"salt", auth.salt.to_decimal()},
              {"signature", protocol::to_hex(auth.signature)}};
    return impl_->run("deposit", args, mode, [&](state& st, json& logs) -> result<void> {
        PURSER_TRY(id, impl_->checked_channel_id(config));
        if (amount.is_zero()) return fail(errc::invalid_request, "deposit amount is zero");
        if (!amount.fits_bits(128)) return fail(errc::overflow, "deposit above uint128");
        PURSER_TRY(ch, st.channel(id));
        const address& collector = protocol::erc3009_deposit_collector();
        transfer_authorization a{config.payer, collector, amount, auth.valid_after,
                                 auth.valid_before, protocol::deposit_nonce(id, auth.salt)};
        // The collector is the caller of receiveWithAuthorization, and `to` is the collector.
        PURSER_CHECK(impl_->authorized_transfer(
            st, logs, a,
            impl_->authorization_signer(a, auth.signature, protocol::authorization_kind::receive)));
        PURSER_CHECK(st.transfer(collector, protocol::batch_settlement_contract(), amount));
        auto nb = ch.balance.add(amount);
        if (!nb || !nb->fits_bits(128)) return fail(errc::overflow, "channel balance above uint128");
        const bool created = !ch.exists || (ch.balance == ch.total_claimed);
        ch.exists = true;
        ch.config = config;
        ch.balance = *nb;
        PURSER_CHECK(st.set_channel(id, ch));
        if (created) logs.push_back({{"event", "ChannelCreated"}, {"channelId", protocol::to_hex(id)}});
        logs.push_back({{"event", "Deposited"}, {"channelId", protocol::to_hex(id)},
                        {"amount", amount.to_decimal()}, {"balance", ch.balance.to_decimal()}});
        return {};
    });
}

result<bytes32> chain::claim(const address& caller, const channel_config& config,
                             const uint256& max_claimable, protocol::byte_view voucher_signature,
                             const uint256& total_claimed, exec mode) {
    json args{{"caller", caller.to_checksum()}, {"config", protocol::to_json(config)},
              {"maxClaimableAmount", max_claimable.to_decimal()},
              {"signature", protocol::to_hex(voucher_signature)},
              {"totalClaimed", total_claimed.to_decimal()}};
    return impl_->run("claim", args, mode, [&](state& st, json& logs) -> result<void> {
        PURSER_TRY(id, impl_->checked_channel_id(config));
        PURSER_TRY(ch, st.channel(id));
        if (!ch.exists) return fail(errc::channel_not_found, "no such channel");
        if (caller != config.receiver && caller != config.receiver_authorizer) {
            return fail(errc::not_authorized, "caller is neither receiver nor receiverAuthorizer");
        }
        if (!max_claimable.fits_bits(128)) return fail(errc::overflow, "maxClaimableAmount above uint128");
        PURSER_TRY(digest, typed_hash(protocol::voucher_typed_data(impl_->domain.chain_id, id, max_claimable)));
        PURSER_TRY(signer, recover_signer(digest, voucher_signature));
        const address& expected = config.payer_authorizer.is_zero() ? config.payer : config.payer_authorizer;
        if (signer != expected) return fail(errc::invalid_signature, "voucher not signed by the payer authorizer");
        if (total_claimed > max_claimable) return fail(errc::claim_out_of_range, "claim above the voucher");
        if (total_claimed > ch.balance) return fail(errc::claim_out_of_range, "claim above the channel balance");
        if (total_claimed < ch.total_claimed) return fail(errc::claim_out_of_range, "claim below totalClaimed");
        PURSER_TRY(increase, total_claimed.sub(ch.total_claimed));
        PURSER_TRY(u, st.unsettled(config.receiver));
        auto nu = u.add(increase);
        if (!nu) return fail(errc::overflow, "unsettled overflow");
        ch.total_claimed = total_claimed;
        PURSER_CHECK(st.set_channel(id, ch));
        PURSER_CHECK(st.set_unsettled(config.receiver, *nu));
        logs.push_back({{"event", "Claimed"}, {"channelId", protocol::to_hex(id)},
                        {"amount", increase.to_decimal()}, {"totalClaimed", total_claimed.to_decimal()}});
        return {};
    });
}

result<bytes32> chain::settle(const address& receiver) {
    json args{{"receiver", receiver.to_checksum()}, {"token", impl_->token.to_checksum()}};
    return impl_->run("settle", args, exec::commit, [&](state& st, json& logs) -> result<void> {
        PURSER_TRY(u, st.unsettled(receiver));
        if (u.is_zero()) return fail(errc::nothing_to_settle, "no claimed funds to settle");
        PURSER_CHECK(st.transfer(protocol::batch_settlement_contract(), receiver, u));
        PURSER_CHECK(st.set_unsettled(receiver, uint256{}));
        logs.push_back({{"event", "Settled"}, {"receiver", receiver.to_checksum()},
                        {"amount", u.to_decimal()}});
        return {};
    });
}

namespace {
// Money leaves the escrow back to the payer: shared by refund and finalizeWithdraw.
result<uint256> release_to_payer(state& st, channel_state& ch, const uint256& requested) {
    PURSER_TRY(available, ch.balance.sub(ch.total_claimed));
    const uint256 amount = requested < available ? requested : available;
    if (!amount.is_zero()) {
        PURSER_CHECK(st.transfer(protocol::batch_settlement_contract(), ch.config.payer, amount));
        PURSER_TRY(nb, ch.balance.sub(amount));
        ch.balance = nb;
    }
    return amount;
}
}  // namespace

result<bytes32> chain::refund_with_signature(const channel_config& config, const uint256& amount,
                                             const uint256& nonce, protocol::byte_view signature,
                                             exec mode) {
    json args{{"config", protocol::to_json(config)}, {"amount", amount.to_decimal()},
              {"nonce", nonce.to_decimal()}, {"signature", protocol::to_hex(signature)}};
    return impl_->run("refundWithSignature", args, mode, [&](state& st, json& logs) -> result<void> {
        PURSER_TRY(id, impl_->checked_channel_id(config));
        PURSER_TRY(ch, st.channel(id));
        if (!ch.exists) return fail(errc::channel_not_found, "no such channel");
        if (!amount.fits_bits(128)) return fail(errc::overflow, "refund amount above uint128");
        if (nonce != ch.refund_nonce) return fail(errc::refund_nonce_mismatch, "refund nonce is not current");
        PURSER_TRY(digest, typed_hash(protocol::refund_typed_data(impl_->domain.chain_id, id, nonce, amount)));
        PURSER_TRY(signer, recover_signer(digest, signature));
        if (signer != config.receiver_authorizer) {
            return fail(errc::invalid_signature, "refund not signed by the receiverAuthorizer");
        }
        // The nonce advances before the cap, so even a no-op refund consumes it (spec).
        PURSER_TRY(nn, ch.refund_nonce.add(uint256{1}));
        ch.refund_nonce = nn;
        PURSER_TRY(moved, release_to_payer(st, ch, amount));
        if (ch.withdraw_requested_at != 0) {
            if (moved >= ch.withdraw_amount) {
                ch.withdraw_requested_at = 0;
                ch.withdraw_amount = uint256{};
            } else {
                PURSER_TRY(wa, ch.withdraw_amount.sub(moved));
                ch.withdraw_amount = wa;
            }
        }
        PURSER_CHECK(st.set_channel(id, ch));
        if (!moved.is_zero()) {
            logs.push_back({{"event", "Refunded"}, {"channelId", protocol::to_hex(id)},
                            {"amount", moved.to_decimal()}, {"balance", ch.balance.to_decimal()}});
        }
        return {};
    });
}

result<bytes32> chain::initiate_withdraw(const address& caller, const channel_config& config,
                                         const uint256& amount) {
    json args{{"caller", caller.to_checksum()}, {"config", protocol::to_json(config)},
              {"amount", amount.to_decimal()}};
    return impl_->run("initiateWithdraw", args, exec::commit, [&](state& st, json& logs) -> result<void> {
        PURSER_TRY(id, impl_->checked_channel_id(config));
        PURSER_TRY(ch, st.channel(id));
        if (!ch.exists) return fail(errc::channel_not_found, "no such channel");
        if (caller != config.payer && caller != config.payer_authorizer) {
            return fail(errc::not_authorized, "caller is neither payer nor payerAuthorizer");
        }
        if (amount.is_zero()) return fail(errc::invalid_request, "withdraw amount is zero");
        PURSER_TRY(available, ch.balance.sub(ch.total_claimed));
        if (amount > available) return fail(errc::withdraw_exceeds_available, "amount above balance - totalClaimed");
        ch.withdraw_requested_at = impl_->clock();
        ch.withdraw_amount = amount;
        PURSER_CHECK(st.set_channel(id, ch));
        logs.push_back({{"event", "WithdrawInitiated"}, {"channelId", protocol::to_hex(id)},
                        {"amount", amount.to_decimal()},
                        {"finalizeAfter", ch.withdraw_requested_at + config.withdraw_delay}});
        return {};
    });
}

result<bytes32> chain::finalize_withdraw(const address& caller, const channel_config& config) {
    json args{{"caller", caller.to_checksum()}, {"config", protocol::to_json(config)}};
    return impl_->run("finalizeWithdraw", args, exec::commit, [&](state& st, json& logs) -> result<void> {
        PURSER_TRY(id, impl_->checked_channel_id(config));
        PURSER_TRY(ch, st.channel(id));
        if (!ch.exists) return fail(errc::channel_not_found, "no such channel");
        if (caller != config.payer && caller != config.payer_authorizer) {
            return fail(errc::not_authorized, "caller is neither payer nor payerAuthorizer");
        }
        if (ch.withdraw_requested_at == 0) return fail(errc::withdraw_not_ready, "no withdrawal pending");
        if (impl_->clock() < ch.withdraw_requested_at + config.withdraw_delay) {
            return fail(errc::withdraw_not_ready, "withdrawDelay has not elapsed");
        }
        PURSER_TRY(moved, release_to_payer(st, ch, ch.withdraw_amount));
        ch.withdraw_requested_at = 0;
        ch.withdraw_amount = uint256{};
        PURSER_CHECK(st.set_channel(id, ch));
        logs.push_back({{"event", "Withdrawn"}, {"channelId", protocol::to_hex(id)},
                        {"amount", moved.to_decimal()}});
        return {};
    });
}

result<std::uint64_t> chain::increase_time(std::uint64_t seconds) {
    std::uint64_t offset = 0;
    PURSER_CHECK(impl_->write([&](chain_txn& txn) -> result<void> {
        // From the transaction, not time_offset: calls in one batch add up.
        PURSER_TRY(stored, txn.get("meta:time_offset"));
        offset = (stored ? std::stoull(*stored) : 0) + seconds;
        return txn.put("meta:time_offset", std::to_string(offset));
    }));
    // Concurrent calls may get here in either order; time only moves forward.
    std::uint64_t seen = impl_->time_offset.load();
    while (seen < offset && !impl_->time_offset.compare_exchange_weak(seen, offset)) {
    }
    return impl_->clock();
}

result<std::uint64_t> chain::transaction_count(const address& sender) const {
    PURSER_TRY(snapshot, impl_->begin_read());
    chain_txn txn(snapshot, impl_->dbi);
    PURSER_TRY(v, txn.get(raw_key('n', sender)));
    return v ? std::stoull(*v) : std::uint64_t{0};
}

result<receipt> chain::run_transaction(const bytes32& tx_hash, const address& sender,
                                       std::uint64_t nonce, const std::function<result<bytes32>()>& call) {
    PURSER_CHECK(impl_->write([&](chain_txn& txn) -> result<void> {
        PURSER_TRY(seen, txn.get(raw_key('t', tx_hash)));
        if (seen) return fail(errc::invalid_request, "transaction already known");
        PURSER_TRY(v, txn.get(raw_key('n', sender)));
        const std::uint64_t next = v ? std::stoull(*v) : 0;
        if (nonce != next) {
            return fail(errc::invalid_request, "nonce " + std::to_string(nonce) + " is not the sender's next (" +
                                                   std::to_string(next) + ")");
        }
        return txn.put(raw_key('n', sender), std::to_string(next + 1));
    }));
    // The nonce is used whether the call succeeds or reverts, as on Ethereum.
    receipt rc;
    auto inner = call();
    if (inner) {
        PURSER_TRY(found, get_receipt(*inner));
        if (found) rc = std::move(*found);
        rc.status = true;
    } else {
        rc.status = false;
        rc.kind = "reverted";
        rc.block_number = impl_->block_at(impl_->clock());
        rc.logs = json::array({json{{"event", "Reverted"}, {"reason", inner.error().detail}}});
    }
    rc.hash = tx_hash;
    PURSER_CHECK(impl_->write(
        [&](chain_txn& txn) { return txn.put(raw_key('t', tx_hash), receipt_to_json(rc).dump()); }));
    return rc;
}

}  // namespace purser::testnet
