// .npy files: the reader and the embedding-rows adapter either read the
// array (and convert it to floats) or throw tessel::Error.
#include <cstddef>
#include <cstdint>

#include "embeddings.hpp"
#include "fuzz_file.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::as_file(data, size, ".npy");
  try {
    tessel::NpyArray a = tessel::read_npy(path);
    if (a.size() < (int64_t(1) << 24)) (void)a.as_floats();
  } catch (const tessel::Error&) {
  }
  try {
    (void)tessel::inputs::read_rows(path, "");
  } catch (const tessel::Error&) {
  }
  return 0;
}
