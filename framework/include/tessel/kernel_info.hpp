#pragma once
// Optional second interface of a codec plugin's CodecProvider: which kernel
// path (e.g. "avx512-vnni", "avx2", "scalar") its dot products take on this
// CPU for each weight type. `tessel --version` and `--verbose` show it, so a
// report says what the plugin chose, not what the host guesses.
#include <string>

#include "tessel/types.hpp"

namespace tessel {

class KernelInfo {
 public:
  virtual ~KernelInfo();  // defined in libtessel: one type_info for dynamic_cast across plugins
  virtual std::string kernel_path(TypeId type) const = 0;
};

// The kernel path of `type` from whichever provider in `providers` knows it;
// "unknown" when none does.
template <class Providers>
std::string kernel_path_of(const Providers& providers, TypeId type) {
  for (const auto& p : providers)
    if (const auto* info = dynamic_cast<const KernelInfo*>(p.get())) {
      std::string path = info->kernel_path(type);
      if (!path.empty()) return path;
    }
  return "unknown";
}

}  // namespace tessel
