// How store values look outside the process: ledger rows and agents as text fields and JSON,
// and the ledger's filters read from text. One implementation for every reader: `purser ledger`,
// `purser agent`, and the admin API's JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "purser/protocol/result.hpp"
#include "purser/store/agent.hpp"
#include "purser/store/ledger.hpp"

namespace purser::store {

/// The ledger's columns, in order, as text (CSV and JSON carry the same names and values).
[[nodiscard]] std::vector<std::pair<std::string, std::string>> row_fields(const ledger_row& r);

/// One row as `purser ledger --format json` prints it: ids and counts are numbers (null when
/// empty), every other field a string, amounts included, so no consumer rounds a 256-bit amount
/// through a double. Dump it with error_handler_t::replace: merchant text may be invalid UTF-8.
[[nodiscard]] nlohmann::ordered_json row_json(const ledger_row& r);

/// An agent, its limits and its live counters. USD amounts are exact decimal strings ("0.1");
/// a limit that is not set is null.
[[nodiscard]] nlohmann::ordered_json agent_json(const agent& a, const agent_usage& u);

/// One line of `purser spend --format json`: the group under its name (`by`: "agent", "host",
/// "day"; with spend_group::agent_day, "agent" and "day"), counts as numbers, USD amounts as
/// exact decimal strings.
[[nodiscard]] nlohmann::ordered_json spend_json(const spend_row& r, const std::string& by);

/// The filters of `purser ledger`, by name: since (default "24h"), until, agent, host, status,
/// limit. `value(name)` gives the text of one filter when set. Times as store::parse_time reads
/// them, relative to `now_ms`. Errors: invalid_argument naming the filter and its text.
[[nodiscard]] result<ledger_query> ledger_filters(
    const std::function<std::optional<std::string>(const std::string& name)>& value,
    std::uint64_t now_ms);

}  // namespace purser::store
