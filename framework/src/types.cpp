#include "tessel/types.hpp"

#include <array>
#include <cctype>

#include "tessel/error.hpp"

namespace tessel {
namespace {

struct Entry {
  TypeId id;
  TypeTraits traits;
};

// Block geometry from ggml's block_* structs (QK_K = 256).
constexpr std::array kTypes{
    Entry{TypeId::F32, {"F32", 1, 4}},          Entry{TypeId::F16, {"F16", 1, 2}},
    Entry{TypeId::Q4_0, {"Q4_0", 32, 18}},      Entry{TypeId::Q4_1, {"Q4_1", 32, 20}},
    Entry{TypeId::Q5_0, {"Q5_0", 32, 22}},      Entry{TypeId::Q5_1, {"Q5_1", 32, 24}},
    Entry{TypeId::Q8_0, {"Q8_0", 32, 34}},      Entry{TypeId::Q8_1, {"Q8_1", 32, 36}},
    Entry{TypeId::Q2_K, {"Q2_K", 256, 84}},     Entry{TypeId::Q3_K, {"Q3_K", 256, 110}},
    Entry{TypeId::Q4_K, {"Q4_K", 256, 144}},    Entry{TypeId::Q5_K, {"Q5_K", 256, 176}},
    Entry{TypeId::Q6_K, {"Q6_K", 256, 210}},    Entry{TypeId::Q8_K, {"Q8_K", 256, 292}},
    Entry{TypeId::IQ2_XXS, {"IQ2_XXS", 256, 66}}, Entry{TypeId::IQ2_XS, {"IQ2_XS", 256, 74}},
    Entry{TypeId::IQ3_XXS, {"IQ3_XXS", 256, 98}}, Entry{TypeId::IQ1_S, {"IQ1_S", 256, 50}},
    Entry{TypeId::IQ4_NL, {"IQ4_NL", 32, 18}},  Entry{TypeId::IQ3_S, {"IQ3_S", 256, 110}},
    Entry{TypeId::IQ2_S, {"IQ2_S", 256, 82}},   Entry{TypeId::IQ4_XS, {"IQ4_XS", 256, 136}},
    Entry{TypeId::I8, {"I8", 1, 1}},            Entry{TypeId::I16, {"I16", 1, 2}},
    Entry{TypeId::I32, {"I32", 1, 4}},          Entry{TypeId::I64, {"I64", 1, 8}},
    Entry{TypeId::F64, {"F64", 1, 8}},          Entry{TypeId::IQ1_M, {"IQ1_M", 256, 56}},
    Entry{TypeId::BF16, {"BF16", 1, 2}},        Entry{TypeId::TQ1_0, {"TQ1_0", 256, 54}},
    Entry{TypeId::TQ2_0, {"TQ2_0", 256, 66}},   Entry{TypeId::MXFP4, {"MXFP4", 32, 17}},
};

}  // namespace

std::optional<TypeTraits> type_traits(TypeId t) {
  for (const auto& e : kTypes)
    if (e.id == t) return e.traits;
  return std::nullopt;
}

std::string type_name(TypeId t) {
  if (auto tr = type_traits(t)) return std::string(tr->name);
  return "type " + std::to_string(static_cast<uint32_t>(t));
}

std::optional<TypeId> type_from_name(std::string_view name) {
  for (const auto& e : kTypes) {
    if (e.traits.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(name[i])) == e.traits.name[i];
    if (same) return e.id;
  }
  return std::nullopt;
}

size_t row_bytes(TypeId t, int64_t n) {
  auto tr = type_traits(t);
  if (!tr) throw Error("unknown tensor type " + type_name(t));
  if (n < 0 || n % int64_t(tr->block_elems) != 0)
    throw Error("row of " + std::to_string(n) + " elements is not a multiple of " +
                type_name(t) + "'s block size " + std::to_string(tr->block_elems));
  return size_t(n / int64_t(tr->block_elems)) * tr->block_bytes;
}

}  // namespace tessel
