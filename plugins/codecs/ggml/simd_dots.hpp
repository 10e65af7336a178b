#pragma once
// SIMD dot products for the hot weight types (Q8_0, Q4_0, Q4_K, Q6_K, F16)
// against their activation types. The scalar kernels in *_kernels.cpp stay
// the reference; these must agree with them to float rounding (integer block
// sums are exact, only the float accumulation order differs).
//
// Selection is at compile time (the build uses -march=native): x86 AVX2 with
// the int8 product done by AVX512-VNNI vpdpbusd when the compiler targets it,
// else by AVX2 maddubs; no SIMD table on other targets (scalar codecs only).
#include <cstddef>
#include <vector>

#include "tessel/types.hpp"

namespace tessel::ggml {

// out[r] = dot(w_row, act + r * act_stride) for r < n_act (n_act <= kMaxRows
// per call; any n_act works, larger counts are done in tiles).
using DotRowsFn = void (*)(const void* w_row, const void* act, size_t act_stride, size_t n_act,
                           size_t n, float* out, size_t out_stride);
inline constexpr size_t kMaxRows = 4;

struct SimdDot {
  TypeId type;
  float (*dot)(const void* w_row, const void* act_row, size_t n);
  DotRowsFn dot_rows;
};

enum class SimdIsa { best, avx2, vnni };
// The SIMD kernels this build has for `isa` (empty when it has none): `best`
// is what the codecs use; tests check every path against the scalar codecs.
std::vector<SimdDot> simd_dots(SimdIsa isa = SimdIsa::best);

}  // namespace tessel::ggml
