// A QR code drawn in a terminal with Unicode half blocks (two rows of modules per line), made
// by Debian's libqrencode, so a wallet can be funded by pointing a phone at the screen.
#pragma once

#include <string>

#include "purser/protocol/result.hpp"

namespace purser::cli {

/// The QR code of `text` (byte mode, error correction M) with a 4-module quiet zone. Light
/// modules are drawn (█ ▀ ▄) and dark ones left blank, for the usual dark terminal background.
/// Errors: std::errc::value_too_large when libqrencode cannot encode it.
[[nodiscard]] result<std::string> terminal_qr(const std::string& text);

}  // namespace purser::cli
