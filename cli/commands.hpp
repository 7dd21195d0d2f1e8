// The purser subcommands. Each takes the words after its own name and returns the exit code.
#pragma once

#include <string>
#include <vector>

#include "purser/store/ledger.hpp"

namespace purser::cli {

class options;

using words = std::vector<std::string>;

int x402_decode_command(const words& args);   // purser x402 decode
int x402_sign_command(const words& args);     // purser x402 sign
int x402_verify_command(const words& args);   // purser x402 verify
int wallet_command(const words& args);        // purser wallet ...
int agent_command(const words& args);         // purser agent ...
int ledger_command(const words& args);        // purser ledger ...
int ledger_reconcile_command(const words& args);  // purser ledger reconcile ...
int spend_command(const words& args);
int iou_command(const words& args);           // purser iou balance         // purser spend ...
int ca_command(const words& args);            // purser ca ...
int proxy_command(const words& args);         // purser proxy ...
int testnet_command(const words& args);       // purser testnet ...
int fleet_command(const words& args);         // purser fleet migrate
int budget_command(const words& args);        // purser budget ...
int config_command(const words& args);        // purser config show

// The fleet database's side of `purser ledger` and `purser spend` (fleet_ledger_cmd.cpp).
/// `purser ledger --fleet`: `o` as `purser ledger` parsed it; format already checked.
int fleet_ledger_listing(const options& o, const std::string& format);
/// `purser spend --fleet`: by agent|host|day|proxy (checked); format already checked.
int fleet_spend_listing(const options& o, const std::string& by_text, const std::string& format);
/// Prints `purser spend`'s totals in `format` (table, csv or json), the key column named `by`.
int print_spend(const std::string& by, const std::string& format, const std::vector<store::spend_row>& rows);

}  // namespace purser::cli
