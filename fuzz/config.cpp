// Pipeline YAML: any text either gives a validated PipelineSpec or throws
// tessel::Error (yaml-cpp's own exceptions must not escape).
#include <cstddef>
#include <cstdint>
#include <string>

#include "tessel/config.hpp"
#include "tessel/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    tessel::PipelineSpec spec = tessel::parse_pipeline(text, "fuzz.yaml");
    tessel::check_runtime(spec);
  } catch (const tessel::Error&) {
  }
  return 0;
}
