// The AVX-512 table: int8 products by VNNI vpdpbusd (on 256-bit vectors, see
// simd_dots_common.hpp), float kernels 16 wide. Built with the AVX-512
// F/CD/DQ/BW/VL/VNNI flags (CMakeLists.txt) and only called on CPUs that
// have them (simd_dots.cpp). xsimd's avx512bw arch needs CD and DQ too;
// every CPU with VNNI has them.
#if !defined(__AVX512F__) || !defined(__AVX512CD__) || !defined(__AVX512DQ__) || \
    !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512VNNI__) || \
    !defined(__FMA__) || !defined(__F16C__)
#error "simd_dots_avx512.cpp needs the AVX-512 F/CD/DQ/BW/VL/VNNI, FMA and F16C flags"
#endif
#include "simd_dots_table.hpp"

namespace tessel::ggml {
SimdTable simd_dots_vnni_table() { return dot_table<VnniMul, xsimd::avx512bw>(); }
}  // namespace tessel::ggml
