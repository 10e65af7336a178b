#pragma once
// Element types, numbered as ggml numbers them so GGUF files map one to one.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessel {

using TokenId = int32_t;

enum class TypeId : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21,
  IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28,
  IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

// Block geometry of a type: `block_elems` values stored in `block_bytes` bytes.
// Known for every type a GGUF file may hold, even those no codec decodes, so a
// reader can validate sizes without a codec.
struct TypeTraits {
  std::string_view name;
  size_t block_elems;
  size_t block_bytes;
};

// nullopt for a type id ggml does not define.
std::optional<TypeTraits> type_traits(TypeId t);
std::string type_name(TypeId t);              // "Q4_K", or "type 99" when unknown
std::optional<TypeId> type_from_name(std::string_view name);  // case-insensitive

// Bytes of one row of `n` elements; throws tessel::Error when n is not a
// multiple of the block size.
size_t row_bytes(TypeId t, int64_t n);

}  // namespace tessel
