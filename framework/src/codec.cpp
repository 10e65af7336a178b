#include "tessel/codec.hpp"

#include "tessel/error.hpp"

namespace tessel {

const Codec& CodecSet::get(TypeId t, std::string_view what) const {
  if (const Codec* c = find(t)) return *c;
  std::string msg = "no codec for type " + type_name(t);
  if (!what.empty()) msg += " (needed by " + std::string(what) + ")";
  msg += "; codecs loaded:";
  for (auto& [id, c] : by_type_) msg += " " + type_name(id);
  throw Error(msg);
}

std::vector<TypeId> CodecSet::types() const {
  std::vector<TypeId> out;
  for (auto& [id, c] : by_type_) out.push_back(id);
  return out;
}

}  // namespace tessel
