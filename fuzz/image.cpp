// Image decode (stb_image: PNG, JPEG, BMP, GIF, ...) and the Gemma 3
// letterbox preprocessing: any file is decoded and resized, or refused with
// tessel::Error.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "image.hpp"
#include "tessel/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::as_file(data, size, ".img");
  try {
    tessel::inputs::RgbImage img = tessel::inputs::load_image(path);
    tessel::VisionHParams v;
    v.image_size = 32;
    v.patch_size = 4;
    (void)tessel::inputs::preprocess_letterbox(img, v);
  } catch (const tessel::Error&) {
  }
  return 0;
}
