// F32, F16 and BF16: element-wise conversions (ggml's rounding from half.hpp)
// and float-accumulated dot products.
#include <algorithm>
#include <cstring>
#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "blocks.hpp"
#include "ggml_codecs.hpp"

namespace tessel::ggml {
namespace {

// Lanes of independent partial sums: lets the compiler vectorise the
// reduction without -ffast-math. ggml's SIMD dot also sums lane-wise, so
// neither order is "the" reference; results agree to float rounding.
constexpr size_t kLanes = 16;

template <class Load>
float lane_dot(size_t n, Load load) {
  float acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t l = 0; l < kLanes; ++l) acc[l] += load(i + l);
  float tail = 0;
  for (; i < n; ++i) tail += load(i);
  float s = 0;
  for (size_t l = 0; l < kLanes; ++l) s += acc[l];
  return s + tail;
}

// Exact either way; the F16C instruction converts 8 halves at once.
void halves_to_floats(const uint16_t* h, float* f, size_t n) {
  size_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
#endif
  for (; i < n; ++i) f[i] = fp16_to_fp32(h[i]);
}

void f32_to_float(const void* src, float* dst, size_t n) { std::memcpy(dst, src, n * 4); }
void f32_from_float(const float* src, void* dst, size_t n) { std::memcpy(dst, src, n * 4); }
float f32_dot(const void* w, const void* a, size_t n) {
  const float* x = static_cast<const float*>(w);
  const float* y = static_cast<const float*>(a);
  return lane_dot(n, [&](size_t i) { return x[i] * y[i]; });
}

void f16_to_float(const void* src, float* dst, size_t n) {
  halves_to_floats(static_cast<const uint16_t*>(src), dst, n);
}
void f16_from_float(const float* src, void* dst, size_t n) {
  uint16_t* h = static_cast<uint16_t*>(dst);
  for (size_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}
float f16_dot(const void* w, const void* a, size_t n) {
  const uint16_t* x = static_cast<const uint16_t*>(w);
  const uint16_t* y = static_cast<const uint16_t*>(a);
  // Convert 256 at a time to floats, then the plain float dot per chunk.
  constexpr size_t C = 256;
  float fx[C], fy[C], sum = 0;
  for (size_t i = 0; i < n; i += C) {
    const size_t m = std::min(C, n - i);
    halves_to_floats(x + i, fx, m);
    halves_to_floats(y + i, fy, m);
    sum += lane_dot(m, [&](size_t k) { return fx[k] * fy[k]; });
  }
  return sum;
}

void bf16_to_float(const void* src, float* dst, size_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}
void bf16_from_float(const float* src, void* dst, size_t n) {
  uint16_t* h = static_cast<uint16_t*>(dst);
  for (size_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}
float bf16_dot(const void* w, const void* a, size_t n) {
  const uint16_t* x = static_cast<const uint16_t*>(w);
  const uint16_t* y = static_cast<const uint16_t*>(a);
  return lane_dot(n, [&](size_t i) { return bf16_to_fp32(x[i]) * bf16_to_fp32(y[i]); });
}

}  // namespace

void add_float_kernels(std::vector<Kernels>& out) {
  out.push_back({TypeId::F32, TypeId::F32, f32_to_float, f32_from_float, f32_dot});
  out.push_back({TypeId::F16, TypeId::F16, f16_to_float, f16_from_float, f16_dot});
  out.push_back({TypeId::BF16, TypeId::BF16, bf16_to_float, bf16_from_float, bf16_dot});
}

}  // namespace tessel::ggml
