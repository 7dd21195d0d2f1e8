#include "purser/protocol/payment_link.hpp"

namespace purser::protocol {

std::string erc20_transfer_link(const address& token, std::uint64_t chain_id, const address& recipient,
                                const uint256& amount) {
    return "ethereum:" + token.to_checksum() + "@" + std::to_string(chain_id) +
           "/transfer?address=" + recipient.to_checksum() + "&uint256=" + amount.to_decimal();
}

}  // namespace purser::protocol
