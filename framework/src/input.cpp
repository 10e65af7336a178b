#include "tessel/input.hpp"

#include <algorithm>
#include <string>

#include "tessel/error.hpp"

namespace tessel {

void check_params(const InputSegment& seg, std::initializer_list<const char*> known) {
  for (const auto& param : seg.params) {
    const std::string& key = param.first;  // not a structured binding: clang 14 can't capture those
    if (std::any_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) continue;
    std::string list;
    for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    throw Error(seg.adapter + " input: unknown parameter '" + key + "' (this adapter takes: " +
                (list.empty() ? "none" : list) + ")");
  }
}

}  // namespace tessel
