// Embedding rows as JSON ({"data":[{"embedding":[...]}]} or bare arrays):
// read or tessel::Error, never a crash or an escaped nlohmann exception.
#include <cstddef>
#include <cstdint>

#include "embeddings.hpp"
#include "fuzz_file.hpp"
#include "tessel/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::as_file(data, size, ".json");
  try {
    (void)tessel::inputs::read_rows(path, "");
  } catch (const tessel::Error&) {
  }
  return 0;
}
