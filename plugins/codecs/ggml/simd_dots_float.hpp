#pragma once
// F32, F16 and BF16 dots with xsimd batches of the file's ISA (8 floats for
// AVX2 + FMA, 16 for AVX-512): products fused into several accumulators
// per row, summed across lanes at the end. Only the half / bfloat16 to float
// loads are intrinsics (xsimd 8.1 has no such conversions); both are exact.
// See simd_dots_common.hpp for the linkage rules.
#include <xsimd/xsimd.hpp>

#include "simd_dots_common.hpp"

namespace tessel::ggml {
namespace {

// Loads of one batch of halves / bfloat16s as floats, per ISA.
template <class A> struct WideLoads;
template <> struct WideLoads<xsimd::fma3<xsimd::avx2>> {
  using B = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
  static B f16(const uint16_t* p) { return _mm256_cvtph_ps(load128(p)); }
  static B bf16(const uint16_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
  }
};
#if XSIMD_WITH_AVX512BW
template <> struct WideLoads<xsimd::avx512bw> {
  using B = xsimd::batch<float, xsimd::avx512bw>;
  static B f16(const uint16_t* p) { return _mm512_cvtph_ps(load(p)); }
  static B bf16(const uint16_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load(p)), 16));
  }
};
#endif

enum class FloatKind { f32, f16, bf16 };

template <class A, FloatKind K> xsimd::batch<float, A> load_floats(const void* p, size_t i) {
  if constexpr (K == FloatKind::f32)
    return xsimd::batch<float, A>::load_unaligned(static_cast<const float*>(p) + i);
  else if constexpr (K == FloatKind::f16)
    return WideLoads<A>::f16(static_cast<const uint16_t*>(p) + i);
  else
    return WideLoads<A>::bf16(static_cast<const uint16_t*>(p) + i);
}
template <FloatKind K> float load_float(const void* p, size_t i) {
  if constexpr (K == FloatKind::f32) return static_cast<const float*>(p)[i];
  else if constexpr (K == FloatKind::f16) return half(static_cast<const uint16_t*>(p)[i]);
  else return bf16(static_cast<const uint16_t*>(p)[i]);
}

template <class A, FloatKind K> struct FloatK {
  static constexpr size_t kBytes = K == FloatKind::f32 ? 4 : 2;
  // One row shared by R rows of the other operand (stride bytes apart):
  // the shared row's batches are loaded and converted once for all R. U
  // accumulators per row, the same U for every R and either orientation: a
  // row's sum must not depend on how many rows share the call (decode and
  // prompts must give identical logits); products commute, so which operand
  // is shared does not change a result either.
  template <int R>
  static void run_shared(const void* shared, const void* rows, size_t stride, size_t n, float* out,
                         size_t os, size_t ahead = 0) {
    using B = xsimd::batch<float, A>;
    constexpr size_t L = B::size;
    constexpr int U = 2;
    const std::byte* rb = static_cast<const std::byte*>(rows);
    B acc[R][U];
    for (int r = 0; r < R; ++r)
      for (int u = 0; u < U; ++u) acc[r][u] = B(0.f);
    size_t i = 0;
    for (; i + U * L <= n; i += U * L) {
      B x[U];
      for (int u = 0; u < U; ++u) x[u] = load_floats<A, K>(shared, i + u * L);
      if (ahead)
        for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(rb + r * stride + ahead) + i * kBytes, _MM_HINT_T0);
      for (int r = 0; r < R; ++r)
        for (int u = 0; u < U; ++u)
          acc[r][u] = xsimd::fma(x[u], load_floats<A, K>(rb + r * stride, i + u * L), acc[r][u]);
    }
    for (; i + L <= n; i += L) {
      const B x = load_floats<A, K>(shared, i);
      for (int r = 0; r < R; ++r) acc[r][0] = xsimd::fma(x, load_floats<A, K>(rb + r * stride, i), acc[r][0]);
    }
    for (int r = 0; r < R; ++r) {
      for (int u = 1; u < U; ++u) acc[r][0] += acc[r][u];
      float s = xsimd::hadd(acc[r][0]);
      for (size_t j = i; j < n; ++j) s += load_float<K>(shared, j) * load_float<K>(rb + r * stride, j);
      out[r * os] = s;
    }
  }
  // One weight row against R activation rows (prompts).
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    run_shared<R>(w, a, stride, n, out, os);
  }
  // R weight rows against one activation row (decode).
  // Each weight row is a few KiB, shorter than the hardware prefetcher's
  // ramp: the rows of the next call (R rows further) are fetched meanwhile.
  template <int R>
  static void run_w(const void* w, size_t w_stride, const void* a, size_t n, float* out) {
    run_shared<R>(a, w, w_stride, n, out, 1, R * w_stride);
  }
};

}  // namespace
}  // namespace tessel::ggml
