#include "records.hpp"

#include <cstring>

#include "codec.hpp"

namespace purser::store::detail {

std::string encode_agent(const agent& a) {
    writer w;
    w.u8(format_v1).u64(a.id).u8(a.frozen ? 1 : 0).u64(a.created_ms);
    w.raw(std::string_view(reinterpret_cast<const char*>(a.token_sha256.data()),
                           a.token_sha256.size()));
    w.opt_u64(a.allowance);
    const policy& p = a.limits;
    w.opt_u64(p.per_request).opt_u64(p.daily).opt_u64(p.monthly).opt_u64(p.lifetime);
    w.opt_u64(p.in_flight);
    w.opt_u64(p.payments_per_minute ? std::optional<std::uint64_t>(*p.payments_per_minute)
                                    : std::nullopt);
    w.strings(p.allow_hosts).strings(p.deny_hosts).strings(p.allow_networks).strings(p.allow_assets);
    return w.take();
}

std::optional<agent> decode_agent(std::string_view name, std::string_view value) {
    reader r(value);
    if (r.u8() != format_v1) return std::nullopt;
    agent a;
    a.name = std::string(name);
    a.id = r.u64();
    a.frozen = r.u8() != 0;
    a.created_ms = r.u64();
    for (auto& b : a.token_sha256) b = r.u8();
    a.allowance = r.opt_u64();
    policy& p = a.limits;
    p.per_request = r.opt_u64();
    p.daily = r.opt_u64();
    p.monthly = r.opt_u64();
    p.lifetime = r.opt_u64();
    p.in_flight = r.opt_u64();
    if (auto rate = r.opt_u64()) {
        if (*rate > UINT32_MAX) return std::nullopt;
        p.payments_per_minute = static_cast<std::uint32_t>(*rate);
    }
    p.allow_hosts = r.strings();
    p.deny_hosts = r.strings();
    p.allow_networks = r.strings();
    p.allow_assets = r.strings();
    if (!r.ok_and_done()) return std::nullopt;
    return a;
}

std::string encode_row(const stored_row& s) {
    const ledger_row& r = s.row;
    writer w;
    w.u8(row_format_v4).u64(r.id).u64(r.at_ms).u64(r.updated_ms).u64(s.session);
    w.str(r.agent).str(r.method).str(r.url).str(r.host);
    w.u16(static_cast<std::uint16_t>(r.x402_version));
    w.str(r.scheme).str(r.network).str(r.asset).u8(static_cast<std::uint8_t>(r.asset_decimals));
    w.u256(r.amount_atomic).u64(r.amount_usd).str(r.pay_to).str(r.nonce).u64(r.expires_at);
    w.u8(static_cast<std::uint8_t>(r.state));
    w.u8(r.why ? static_cast<std::uint8_t>(*r.why) : 0);
    w.str(r.detail).str(r.tx_hash);
    w.u8(r.charged_atomic ? 1 : 0).u256(r.charged_atomic.value_or(protocol::uint256{}));
    w.u64(r.charged_usd).u16(r.merchant_status).u32(r.latency_ms);
    w.str(r.payer);
    w.u32(r.repeats);
    w.u8(static_cast<std::uint8_t>(r.kind));
    return w.take();
}

std::optional<stored_row> decode_row(std::string_view value) {
    reader rd(value);
    const std::uint8_t format = rd.u8();
    if (format < format_v1 || format > row_format_v4) return std::nullopt;
    stored_row s;
    ledger_row& r = s.row;
    r.id = rd.u64();
    r.at_ms = rd.u64();
    r.updated_ms = rd.u64();
    s.session = rd.u64();
    r.agent = rd.str();
    r.method = rd.str();
    r.url = rd.str();
    r.host = rd.str();
    r.x402_version = rd.u16();
    r.scheme = rd.str();
    r.network = rd.str();
    r.asset = rd.str();
    r.asset_decimals = rd.u8();
    r.amount_atomic = rd.u256();
    r.amount_usd = rd.u64();
    r.pay_to = rd.str();
    r.nonce = rd.str();
    r.expires_at = rd.u64();
    const std::uint8_t st = rd.u8();
    if (st < static_cast<std::uint8_t>(status::reserved) ||
        st > static_cast<std::uint8_t>(status::released)) {
        return std::nullopt;
    }
    r.state = static_cast<status>(st);
    const std::uint8_t why = rd.u8();
    if (why > static_cast<std::uint8_t>(reason::budget_unavailable)) return std::nullopt;
    if (why != 0) r.why = static_cast<reason>(why);
    r.detail = rd.str();
    r.tx_hash = rd.str();
    const bool has_charged = rd.u8() != 0;
    const auto charged = rd.u256();
    if (has_charged) r.charged_atomic = charged;
    r.charged_usd = rd.u64();
    r.merchant_status = rd.u16();
    r.latency_ms = rd.u32();
    if (format >= row_format_v2) r.payer = rd.str();  // v1 rows predate the payer field
    if (format >= row_format_v3) {
        r.repeats = rd.u32();
        if (r.repeats == 0) return std::nullopt;
    }
    if (format >= row_format_v4) {
        const std::uint8_t kind = rd.u8();
        if (kind > static_cast<std::uint8_t>(row_kind::deposit)) return std::nullopt;
        r.kind = static_cast<row_kind>(kind);
    }
    if (!rd.ok_and_done()) return std::nullopt;
    return s;
}

std::string encode_channel(const channel& c) {
    writer w;
    w.u8(format_v1).str(c.id).str(c.network).str(c.token).u8(static_cast<std::uint8_t>(c.decimals));
    w.str(c.payer).str(c.receiver).str(c.receiver_authorizer).u64(c.withdraw_delay).str(c.salt);
    w.str(c.merchant);
    w.u256(c.deposited).u256(c.deposit_pending).u256(c.claimed).u256(c.charged).u256(c.signed_max);
    w.str(c.signature).u8(static_cast<std::uint8_t>(c.state)).str(c.note).u64(c.updated_ms);
    w.u64(c.in_flight);
    return w.take();
}

std::optional<channel> decode_channel(std::string_view value) {
    reader r(value);
    if (r.u8() != format_v1) return std::nullopt;
    channel c;
    c.id = r.str();
    c.network = r.str();
    c.token = r.str();
    c.decimals = r.u8();
    c.payer = r.str();
    c.receiver = r.str();
    c.receiver_authorizer = r.str();
    c.withdraw_delay = r.u64();
    c.salt = r.str();
    c.merchant = r.str();
    c.deposited = r.u256();
    c.deposit_pending = r.u256();
    c.claimed = r.u256();
    c.charged = r.u256();
    c.signed_max = r.u256();
    c.signature = r.str();
    const std::uint8_t st = r.u8();
    if (st < static_cast<std::uint8_t>(channel_state::open) ||
        st > static_cast<std::uint8_t>(channel_state::quarantined)) {
        return std::nullopt;
    }
    c.state = static_cast<channel_state>(st);
    c.note = r.str();
    c.updated_ms = r.u64();
    c.in_flight = r.u64();
    if (!r.ok_and_done()) return std::nullopt;
    return c;
}

std::optional<channel_funds> decode_channel_funds(std::string_view value) {
    // The layout of decode_channel, text skipped: it has to change with it.
    reader r(value);
    if (r.u8() != format_v1) return std::nullopt;
    channel_funds f;
    for (int i = 0; i < 3; ++i) r.skip_str();  // id, network, token
    (void)r.u8();                               // decimals
    for (int i = 0; i < 3; ++i) r.skip_str();  // payer, receiver, receiver authorizer
    (void)r.u64();                              // withdraw delay
    r.skip_str();                               // salt
    r.skip_str();                               // merchant
    f.deposited = r.u256();
    f.deposit_pending = r.u256();
    (void)r.u256();  // claimed
    f.charged = r.u256();
    (void)r.u256();  // signed max
    r.skip_str();    // signature
    const std::uint8_t st = r.u8();
    if (r.failed() || st < static_cast<std::uint8_t>(channel_state::open) ||
        st > static_cast<std::uint8_t>(channel_state::quarantined)) {
        return std::nullopt;
    }
    f.state = static_cast<channel_state>(st);
    return f;
}

std::string counter_key(std::uint64_t agent_id, counter_kind kind, std::uint32_t period) {
    return writer().u64(agent_id).u8(static_cast<std::uint8_t>(kind)).u32(period).take();
}

std::string encode_u64_value(std::uint64_t v) { return writer().u8(format_v1).u64(v).take(); }

std::optional<std::uint64_t> decode_u64_value(std::string_view value) {
    reader r(value);
    if (r.u8() != format_v1) return std::nullopt;
    const auto v = r.u64();
    if (!r.ok_and_done()) return std::nullopt;
    return v;
}

std::string time_key(std::uint64_t at_ms, std::uint64_t id) {
    return writer().u64(at_ms).u64(id).take();
}

std::string name_time_key(std::string_view name, std::uint64_t at_ms, std::uint64_t id) {
    return writer().key_str(name).u64(at_ms).u64(id).take();
}

std::string status_key(status s, std::uint64_t id) {
    return writer().u8(static_cast<std::uint8_t>(s)).u64(id).take();
}

std::string rate_key(std::string_view agent, std::uint64_t at_ms) {
    return writer().key_str(agent).u64(at_ms).take();
}

std::string expiry_key(std::uint64_t expires_at, std::uint64_t id) {
    return writer().u64(expires_at).u64(id).take();
}

std::uint64_t id_from_index_key(std::string_view key) {
    if (key.size() < 8) return 0;
    return read_be64(key.substr(key.size() - 8));
}

}  // namespace purser::store::detail
