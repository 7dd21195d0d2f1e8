// The store's records and keys: how agents, ledger rows, counters and index entries are laid out
// in LMDB (format version 1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "purser/store/agent.hpp"
#include "purser/store/ledger.hpp"

namespace purser::store::detail {

inline constexpr std::uint8_t format_v1 = 1;
/// Ledger rows from the version that records the payer (the signing address), which the proof of
/// non-settlement (EIP-3009 authorizationState(payer, nonce)) needs. v1 rows still decode.
inline constexpr std::uint8_t row_format_v2 = 2;
/// Rows that count folded declines (ledger_row::repeats). v1 and v2 rows still decode.
inline constexpr std::uint8_t row_format_v3 = 3;
/// Rows that say their kind (ledger_row::kind: payment or IOU deposit).
inline constexpr std::uint8_t row_format_v4 = 4;
/// 2: v3 rows, the rate index (idx_rate) and the decline index (idx_decline), which a Purser
/// reading schema 1 would neither read nor maintain: it refuses the store instead.
/// 3: v4 rows and the IOU channels (`channels`), which an older Purser would not keep in step.
/// 4: rows declined budget_unavailable (an older Purser reads them as corrupt) and the fleet
/// leases (`budget_accounts`, `lease_draws`), which an older Purser would not give back.
inline constexpr std::uint32_t schema_version = 5;

/// A ledger row plus what only the store needs: the session that reserved it.
struct stored_row {
    ledger_row row;
    std::uint64_t session = 0;
};

[[nodiscard]] std::string encode_agent(const agent& a);
[[nodiscard]] std::optional<agent> decode_agent(std::string_view name, std::string_view value);

[[nodiscard]] std::string encode_row(const stored_row& r);
[[nodiscard]] std::string encode_channel(const channel& c);
[[nodiscard]] std::optional<channel> decode_channel(std::string_view value);
/// The funds and state of an encoded channel, its text fields skipped (not copied).
[[nodiscard]] std::optional<channel_funds> decode_channel_funds(std::string_view value);
[[nodiscard]] std::optional<stored_row> decode_row(std::string_view value);

/// Counter kinds: spend per UTC day, per UTC month, lifetime, and value in flight.
enum class counter_kind : std::uint8_t { day = 'D', month = 'M', lifetime = 'L', in_flight = 'F' };

[[nodiscard]] std::string counter_key(std::uint64_t agent_id, counter_kind kind,
                                      std::uint32_t period);
[[nodiscard]] std::string encode_u64_value(std::uint64_t v);
[[nodiscard]] std::optional<std::uint64_t> decode_u64_value(std::string_view value);

[[nodiscard]] std::string time_key(std::uint64_t at_ms, std::uint64_t id);
[[nodiscard]] std::string name_time_key(std::string_view name, std::uint64_t at_ms,
                                        std::uint64_t id);
[[nodiscard]] std::string status_key(status s, std::uint64_t id);
/// The rate index: approvals of one agent at one millisecond (agent name, at_ms) -> u64 count.
[[nodiscard]] std::string rate_key(std::string_view agent, std::uint64_t at_ms);
/// The rate index's entry for one second of `agent`'s approvals (rate.cpp).
[[nodiscard]] std::string rate_second_key(std::string_view agent, std::uint64_t second);
/// Whether a row counts against payments_per_minute: every payment approval that was not given
/// back unsent (declined and released rows do not, nor a deposit: its voucher row counts).
[[nodiscard]] inline bool counts_for_rate(const ledger_row& r) {
    return r.kind == row_kind::payment && r.state != status::declined &&
           r.state != status::released;
}
/// The rate window: approvals at or after now - rate_window_ms + 1 count.
inline constexpr std::uint64_t rate_window_ms = 60'000;
/// Rate entries older than this are pruned: the window plus a margin for a system clock stepped
/// back a few minutes (the window then still sees the approvals it saw before the step).
inline constexpr std::uint64_t rate_keep_ms = 5 * 60'000;
[[nodiscard]] std::string expiry_key(std::uint64_t expires_at, std::uint64_t id);
/// The ledger id at the end of any index key (all end in a big-endian u64 id).
[[nodiscard]] std::uint64_t id_from_index_key(std::string_view key);
/// Index entries carry no data; their value is just the format byte.
inline constexpr std::string_view index_value{"\x01", 1};

}  // namespace purser::store::detail
