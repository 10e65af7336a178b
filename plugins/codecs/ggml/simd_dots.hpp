#pragma once
// SIMD dot products of every weight type against its activation type (the
// codec's dot_type). The scalar kernels in *_kernels.cpp stay the reference
// and the fallback; these must agree with them to float rounding (integer
// block sums are exact, only the float accumulation order differs).
//
// Selection is at run time: each ISA level is its own translation unit built
// with that level's -m flags (simd_dots_avx2.cpp: AVX2 + FMA + F16C, int8
// products by maddubs; simd_dots_avx512.cpp: AVX-512 float kernels, int8
// products by VNNI vpdpbusd), and simd_dots() asks the CPU which one it can
// run (simd_dots.cpp). A CPU without AVX2 (or a non-x86 build) gets no SIMD
// table and uses the scalar codecs.
#include <cstddef>
#include <vector>

#include "tessel/types.hpp"

namespace tessel::ggml {

// out[r] = dot(w_row, act + r * act_stride) for r < n_act (n_act <= kMaxRows
// per call; any n_act works, larger counts are done in tiles). Bit for bit:
// a row's result never depends on n_act, so one token at a time and a batch
// give identical results.
using DotRowsFn = void (*)(const void* w_row, const void* act, size_t act_stride, size_t n_act,
                           size_t n, float* out, size_t out_stride);
inline constexpr size_t kMaxRows = 4;
// out[o] = dot(w + o * w_stride, act) for o < n_w (Codec::dot_weights); null
// where the kernel has no multi-row form.
using DotWeightsFn = void (*)(const void* w, size_t w_stride, size_t n_w, const void* act, size_t n,
                              float* out);

struct SimdDot {
  TypeId type;
  float (*dot)(const void* w_row, const void* act_row, size_t n);
  DotRowsFn dot_rows;
  DotWeightsFn dot_weights = nullptr;
};

enum class SimdIsa { best, avx2, vnni };
// The SIMD kernels for `isa` on this CPU (empty when the CPU cannot run
// them): `best` is what the codecs use; tests check every path against the
// scalar codecs.
std::vector<SimdDot> simd_dots(SimdIsa isa = SimdIsa::best);
// The name of the table simd_dots() picks: "avx512-vnni", "avx2" or "scalar".
const char* simd_dots_name();
// The path the codec of `type` uses (simd_dots_name() or "scalar"); "" for no such codec.
const char* kernel_path_of(TypeId type);

// The per-ISA tables behind simd_dots(): static arrays, so the ISA files
// need no library code (see simd_dots_common.hpp). Only call one after
// checking the CPU supports it.
struct SimdTable {
  const SimdDot* dots;
  size_t count;
};
SimdTable simd_dots_avx2_table();  // AVX2, FMA, F16C
SimdTable simd_dots_vnni_table();  // + AVX-512 F/BW/VL/VNNI

}  // namespace tessel::ggml
