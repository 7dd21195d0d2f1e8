// Subcommands whose libraries have not landed yet. Each owner removes its entry from here when
// its own <name>_cmd.cpp defines the function (see cli/CMakeLists.txt).
#include "commands.hpp"
#include "options.hpp"

namespace purser::cli {

#define PURSER_PENDING(fn, what) \
    int fn(const words&) { return report(std::string(what) + " is not built yet", 3); }

#ifndef PURSER_HAVE_X402_DECODE
PURSER_PENDING(x402_decode_command, "purser x402 decode")
#endif
#ifndef PURSER_HAVE_WALLET_CMD
PURSER_PENDING(x402_sign_command, "purser x402 sign")
PURSER_PENDING(x402_verify_command, "purser x402 verify")
PURSER_PENDING(wallet_command, "purser wallet")
#endif
#ifndef PURSER_HAVE_STORE_CMD
PURSER_PENDING(agent_command, "purser agent")
PURSER_PENDING(ledger_command, "purser ledger")
PURSER_PENDING(spend_command, "purser spend")
#endif
#ifndef PURSER_HAVE_IOU_CMD
PURSER_PENDING(iou_command, "purser iou")
#endif
#ifndef PURSER_HAVE_PROXY_CMD
PURSER_PENDING(ca_command, "purser ca")
PURSER_PENDING(proxy_command, "purser proxy")
#endif
#ifndef PURSER_HAVE_TESTNET_CMD
PURSER_PENDING(testnet_command, "purser testnet")
#endif

}  // namespace purser::cli
