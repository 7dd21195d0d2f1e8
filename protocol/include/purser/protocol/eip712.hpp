// EIP-712 typed structured data hashing, general over struct, array and atomic types.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/result.hpp"

namespace purser::protocol::eip712 {

struct field {
    std::string name;
    std::string type;  ///< "address", "uint256", "bytes32", "string", "Person", "Person[]", ...
};

/// Struct name -> ordered fields, as in the `types` object of eth_signTypedData_v4.
using type_map = std::map<std::string, std::vector<field>>;

/// Typed data as wallets receive it. Values in `domain` and `message` follow viem's conventions:
/// integers as JSON numbers or decimal strings (or 0x-hex), addresses and bytes as 0x-hex.
struct typed_data {
    type_map types;  ///< Must not contain EIP712Domain: it is derived from `domain`'s keys.
    std::string primary_type;
    nlohmann::json domain;
    nlohmann::json message;
};

/// "Name(type a,type b)" followed by referenced struct types sorted by name.
/// Errors: invalid_typed_data (unknown type, empty struct).
[[nodiscard]] result<std::string> encode_type(const type_map& types, std::string_view primary);

/// keccak256(encode_type(...)).
[[nodiscard]] result<bytes32> type_hash(const type_map& types, std::string_view primary);

/// hashStruct(value) = keccak256(typeHash || encodeData(value)).
/// Errors: invalid_typed_data, missing_field, wrong_type, overflow, invalid_hex, invalid_address.
[[nodiscard]] result<bytes32> hash_struct(const type_map& types, std::string_view primary,
                                          const nlohmann::json& value);

/// The domain separator. The EIP712Domain type is built from the keys present in `domain`, in
/// the canonical order name, version, chainId, verifyingContract, salt. Unknown keys are errors.
[[nodiscard]] result<bytes32> domain_separator(const nlohmann::json& domain);

/// keccak256(0x19 0x01 || domainSeparator || hashStruct(message)).
[[nodiscard]] bytes32 digest(const bytes32& domain_separator, const bytes32& struct_hash);

/// The digest a wallet signs for `data`.
[[nodiscard]] result<bytes32> hash_typed_data(const typed_data& data);

}  // namespace purser::protocol::eip712
