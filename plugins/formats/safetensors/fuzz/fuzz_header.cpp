// libFuzzer target for the safetensors header parser: any input either
// parses or throws tessel::Error — no crash, hang or huge allocation — and
// whatever parses has every tensor's byte range inside the input.
#include <cstddef>
#include <cstdint>

#include "safetensors.hpp"
#include "tessel/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto h = tessel::safetensors::parse_header({reinterpret_cast<const std::byte*>(data), size}, "fuzz");
    for (const auto& e : h.tensors)
      if (h.data_start + e.end > size || e.begin > e.end) __builtin_trap();
  } catch (const tessel::Error&) {
  }
  return 0;
}
