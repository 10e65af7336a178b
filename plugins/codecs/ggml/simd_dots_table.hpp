#pragma once
// Every SIMD dot kernel of one ISA level as a constant table: M is the int8
// product (Avx2Mul, VnniMul), A the xsimd architecture of the float kernels.
// Included only by simd_dots_avx2.cpp and simd_dots_avx512.cpp.
#include "simd_dots_float.hpp"
#include "simd_dots_kquant.hpp"
#include "simd_dots_legacy.hpp"

namespace tessel::ggml {
namespace {

template <class M, class A> SimdTable dot_table() {
  static constexpr SimdDot dots[] = {
      entry<Q4_0K<M>>(TypeId::Q4_0), entry<Q4_1K<M>>(TypeId::Q4_1),
      entry<Q5_0K<M>>(TypeId::Q5_0), entry<Q5_1K<M>>(TypeId::Q5_1),
      entry<Q8_0K<M>>(TypeId::Q8_0), entry<Q8_1K<M>>(TypeId::Q8_1),
      entry<Q2_KK<M>>(TypeId::Q2_K), entry<Q3_KK<M>>(TypeId::Q3_K),
      entry<Q4_KK<M>>(TypeId::Q4_K), entry<Q5_KK<M>>(TypeId::Q5_K),
      entry<Q6_KK<M>>(TypeId::Q6_K), entry<Q8_KK<M>>(TypeId::Q8_K),
      entry_w<FloatK<A, FloatKind::f32>>(TypeId::F32),
      entry_w<FloatK<A, FloatKind::f16>>(TypeId::F16),
      entry_w<FloatK<A, FloatKind::bf16>>(TypeId::BF16),
  };
  // (sizeof, not std::size: no library template instantiated in this file)
  return {dots, sizeof(dots) / sizeof(dots[0])};
}

}  // namespace
}  // namespace tessel::ggml
