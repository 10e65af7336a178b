// The AVX2 table: int8 products by maddubs, float kernels 8 wide. Built with
// -mavx2 -mfma -mf16c (CMakeLists.txt) and only called on CPUs that have
// them (simd_dots.cpp).
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "simd_dots_avx2.cpp needs -mavx2 -mfma -mf16c"
#endif
#include "simd_dots_table.hpp"

namespace tessel::ggml {
SimdTable simd_dots_avx2_table() { return dot_table<Avx2Mul, xsimd::fma3<xsimd::avx2>>(); }
}  // namespace tessel::ggml
