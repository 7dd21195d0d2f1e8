// Text helpers the listing commands share (`ledger`, `ledger --fleet`, `spend`): CSV fields and
// lines, and cutting a table cell to its width. Merchant text goes through store::printable
// first: shown, never interpreted by the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace purser::cli {

/// RFC 4180: quotes a field holding a comma, quote, CR or LF, doubling the quotes inside.
[[nodiscard]] std::string csv_field(const std::string& v);

/// Prints one CSV line (CRLF) of `fields`: their names when `names`, else their values made
/// printable.
void print_csv_line(const std::vector<std::pair<std::string, std::string>>& fields, bool names);

/// `s` cut to `n` characters, the last one a '~' when it was cut.
[[nodiscard]] std::string shorten(const std::string& s, std::size_t n);

}  // namespace purser::cli
