// Image pieces of vision encoders: patches as ggml_im2col lays them out and
// the 2-D average pool of projectors.
#include "tessel/half.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::kit {

void image_patches(std::span<const float> chw, int64_t nx, int64_t ny, int64_t P, bool f16, float* rows) {
  const int64_t gx = nx / P, gy = ny / P;
  for (int64_t py = 0; py < gy; ++py)
    for (int64_t px = 0; px < gx; ++px)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t ky = 0; ky < P; ++ky)
          for (int64_t kx = 0; kx < P; ++kx) {
            const float v = chw[size_t((c * ny + py * P + ky) * nx + px * P + kx)];
            rows[((py * gx + px) * 3 + c) * P * P + ky * P + kx] = f16 ? round_fp16(v) : v;
          }
}

void avg_pool_2d(const float* in, int64_t gx, int64_t gy, int64_t width, int64_t s, float* out) {
  const int64_t ox = gx / s, m = ox * (gy / s);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t e = 0; e < width; ++e) {
      float sum = 0.0f;
      for (int64_t ky = 0; ky < s; ++ky)
        for (int64_t kx = 0; kx < s; ++kx) sum += in[((i / ox * s + ky) * gx + i % ox * s + kx) * width + e];
      out[i * width + e] = sum / float(s * s);
    }
}

}  // namespace tessel::kit
