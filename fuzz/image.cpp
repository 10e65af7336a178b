// Image decode (stb_image: PNG, JPEG, BMP, GIF, ...) and the Gemma 3
// letterbox preprocessing: any file is decoded and resized, or refused with
// tessel::Error.
//
// Kept cheap per execution so a campaign reaches millions of inputs: the
// letterbox side comes from the input's last byte (8..39 pixels, so both
// up- and down-scaling and odd sides are covered; the code does not depend
// on the side beyond loop bounds), and an input whose header claims more
// than 32 x 32 pixels but no more than load_image's limit is only probed
// (probe_image, load_image's own header check): decoding and resizing it is
// the same code as a small image with longer loops, while a truncated PPM or
// BMP of 60 megapixels decodes for seconds, and at 512 x 512 the resize
// alone held the target at ~85 exec/s (and at 64 x 64 with sides up to 64,
// ~900: the coverage callbacks in the per-pixel loops dominated). Headers
// over the limit still go through load_image, which must refuse them before
// decoding.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "image.hpp"
#include "tessel/error.hpp"

namespace {
constexpr int64_t kProbeOnlyPixels = int64_t(32) * 32;
constexpr int64_t kLoadImageLimit = int64_t(1) << 26;  // preprocess.cpp's kMaxImagePixels
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::as_file(data, size, ".img");
  try {
    int nx = 0, ny = 0;
    if (tessel::inputs::probe_image(path, &nx, &ny)) {
      const int64_t pixels = int64_t(nx) * int64_t(ny);
      if (pixels > kProbeOnlyPixels && pixels <= kLoadImageLimit) return 0;
    }
    tessel::inputs::RgbImage img = tessel::inputs::load_image(path);
    tessel::VisionHParams v;
    v.image_size = size ? 8 + data[size - 1] % 32 : 32;
    v.patch_size = 4;
    (void)tessel::inputs::preprocess_letterbox(img, v);
  } catch (const tessel::Error&) {
  }
  return 0;
}
