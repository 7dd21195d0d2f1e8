// The fleet schema, one migration per version. A migration is never edited once released: a
// change is a new version, so every proxy's database can be brought forward from any point.
#include <array>

#include "purser/fleet/budgets.hpp"
#include "purser/protocol/errc.hpp"

namespace purser::fleet {
namespace {

// Version 1: budgets, their windows, leases and the fleet ledger.
constexpr const char* v1 = R"sql(
CREATE TABLE budgets (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  period      text NOT NULL CHECK (period IN ('day', 'month', 'lifetime')),
  cap_micros  bigint NOT NULL CHECK (cap_micros >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One row per budget and window ('2026-12-02', '2026-12', 'lifetime'): what is counted against
-- the cap. Granting a lease locks this row, so concurrent grants are serialised here.
CREATE TABLE budget_windows (
  budget            text NOT NULL REFERENCES budgets(name) ON DELETE CASCADE,
  window_key        text NOT NULL,
  committed_micros  bigint NOT NULL DEFAULT 0 CHECK (committed_micros >= 0),
  PRIMARY KEY (budget, window_key)
);
CREATE TABLE leases (
  id              bigserial PRIMARY KEY,
  budget          text NOT NULL,
  window_key      text NOT NULL,
  proxy_id        text NOT NULL,
  granted_micros  bigint NOT NULL CHECK (granted_micros > 0),
  spent_micros    bigint CHECK (spent_micros >= 0 AND spent_micros <= granted_micros),
  state           text NOT NULL CHECK (state IN ('active', 'returned')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  returned_at     timestamptz,
  FOREIGN KEY (budget, window_key) REFERENCES budget_windows(budget, window_key) ON DELETE CASCADE
);
CREATE INDEX leases_active ON leases (budget, window_key) WHERE state = 'active';
-- Every proxy's ledger rows, shipped at least once and stored once: (proxy_id, row_id) is the key.
CREATE TABLE fleet_ledger (
  proxy_id       text NOT NULL,
  row_id         bigint NOT NULL,
  at             timestamptz NOT NULL,
  agent          text NOT NULL,
  host           text NOT NULL,
  status         text NOT NULL,
  amount_micros  bigint NOT NULL,
  row            jsonb NOT NULL,
  PRIMARY KEY (proxy_id, row_id)
);
CREATE INDEX fleet_ledger_at ON fleet_ledger (at);
)sql";

// Version 2: the fleet ledger holds each row's fields as columns, and a version per row so that
// at-least-once shipping keeps the newest state. Version 1's table had no shipper writing to it
// (no Purser ever shipped into it), so it is replaced rather than altered.
constexpr const char* v2 = R"sql(
DROP TABLE IF EXISTS fleet_ledger;
CREATE TABLE fleet_ledger (
  proxy_id        text NOT NULL CHECK (length(proxy_id) BETWEEN 1 AND 128),
  row_id          bigint NOT NULL CHECK (row_id > 0),
  version         bigint NOT NULL,
  at              timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  agent           text NOT NULL,
  host            text NOT NULL,
  method          text NOT NULL,
  url             text NOT NULL,
  scheme          text NOT NULL,
  network         text NOT NULL,
  asset           text NOT NULL,
  amount_atomic   numeric(78, 0),
  amount_micros   bigint NOT NULL CHECK (amount_micros >= 0),
  charged_micros  bigint NOT NULL CHECK (charged_micros >= 0),
  counted_micros  bigint NOT NULL CHECK (counted_micros >= 0),
  status          text NOT NULL,
  reason          text NOT NULL,
  detail          text NOT NULL,
  tx_hash         text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('payment', 'deposit')),
  repeats         bigint NOT NULL CHECK (repeats >= 1),
  shipped_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (proxy_id, row_id)
);
CREATE INDEX fleet_ledger_at ON fleet_ledger (at);
CREATE INDEX fleet_ledger_agent_at ON fleet_ledger (agent, at);
)sql";

constexpr std::array<const char*, schema_version> migrations{v1, v2};

}  // namespace

result<int> current_schema(connection& c) {
    PURSER_TRY(exists, c.exec("SELECT to_regclass('purser_schema') IS NOT NULL AS present"));
    if (exists.text(0, "present") != "t") return 0;
    PURSER_TRY(v, c.exec("SELECT max(version) AS v FROM purser_schema"));
    const std::string text = v.text(0, "v");
    return text.empty() ? 0 : std::stoi(text);
}

result<int> migrate(connection& c) {
    // Everything under one lock (a transaction-scoped advisory lock on a fixed key): two proxies
    // starting together apply each migration once.
    return in_transaction(c, [&]() -> result<int> {
        PURSER_TRY(locked, c.exec("SELECT pg_advisory_xact_lock(4020074)"));
        (void)locked;
        PURSER_TRY(made, c.exec("CREATE TABLE IF NOT EXISTS purser_schema ("
                                "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"));
        (void)made;
        PURSER_TRY(at, current_schema(c));
        if (at > schema_version) {
            return fail(protocol::errc::invalid_value, "the fleet database is at schema " + std::to_string(at) +
                                                           ", newer than this Purser's " +
                                                           std::to_string(schema_version));
        }
        for (int v = at + 1; v <= schema_version; ++v) {
            PURSER_TRY(applied, c.exec(migrations[static_cast<std::size_t>(v - 1)]));
            (void)applied;
            PURSER_TRY(noted, c.exec("INSERT INTO purser_schema (version) VALUES ($1)", {std::to_string(v)}));
            (void)noted;
        }
        return schema_version;
    });
}

}  // namespace purser::fleet
