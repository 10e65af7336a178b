#pragma once
// Shared pieces of the x86 SIMD dots, included only by the per-ISA files
// (simd_dots_avx2.cpp, simd_dots_avx512.cpp), each built with its own -m
// flags. Everything here has internal linkage on purpose (anonymous
// namespace; the intrinsics are always-inline): an inline function or
// template instantiation with external linkage would be emitted by both
// files, the linker would keep one copy, and AVX-512 code could end up on
// the AVX2 path (or in baseline code). For the same reason these headers
// call no inline function of other headers (blocks.hpp's helpers are
// re-done here) and build their tables as constant arrays, not vectors.
//
// The int8 kernels are written once for 256-bit vectors and templated on
// the int8 product M: VNNI's vpdpbusd or AVX2's maddubs + madd (both take
// unsigned x signed bytes, so signed weights go through |w| and sign(a, w)).
// On Zen 4 512-bit integer ops run as two 256-bit halves, so ymm loses no
// throughput there. Kernels take R = 1..4 activation rows per call so a
// weight block is loaded and unpacked once for R rows (prompt processing).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "blocks.hpp"  // the block structs only
#include "simd_dots.hpp"

namespace tessel::ggml {
namespace {

// Sums of u8 * s8 over each group of 4 bytes, as 8 int32. Callers keep
// |u * s| pair sums within int16 (|u| <= 128, |s| <= 127) for the AVX2 path.
struct Avx2Mul {
  static __m256i dot(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
  static __m256i dot_add(__m256i acc, __m256i u, __m256i s) { return _mm256_add_epi32(acc, dot(u, s)); }
};
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
struct VnniMul {
  static __m256i dot(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
  static __m256i dot_add(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
};
#endif

inline float hsum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}
inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline float half(uint16_t h) { return _cvtsh_ss(h); }  // exact, as fp16_to_fp32
inline float bf16(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline __m256 fmadd(__m256i isum, float scale, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(scale), acc);
}
// A 256-bit vector whose low 4 int32 lanes are `lo` and high 4 are `hi`:
// the scales of two 16-element groups that one 32-byte product covers.
inline __m256i pair_scale(int lo, int hi) { return _mm256_set_m128i(_mm_set1_epi32(hi), _mm_set1_epi32(lo)); }

template <class B> const B& row_block(const void* a, size_t stride, int r, size_t i) {
  return reinterpret_cast<const B*>(static_cast<const std::byte*>(a) + size_t(r) * stride)[i];
}

// 16 bytes of nibble pairs -> 32 bytes: low nibbles (elements 0..15) then
// high nibbles (16..31), the legacy quants' element order.
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i raw = load128(qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}
// The 32 fifth bits of a Q5_0 / Q5_1 block (bit j of the little-endian
// word = element j) as bytes holding 0x10 or 0.
inline __m256i fifth_bits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // byte j gets byte j/8 of the word (each 128-bit lane holds the whole word)
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(int(bits)),
      _mm256_setr_epi64x(0, 0x0101010101010101ll, 0x0202020202020202ll, 0x0303030303030303ll));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Scale/min pair j of the 12-byte 6-bit table of Q4_K / Q5_K (as
// blocks.hpp's scale_min_k4).
inline void scale_min(int j, const uint8_t* q, int& d, int& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}
// The 16 signed 6-bit scales of Q3_K (as blocks.hpp's unpack_q3_scales).
inline void q3_scales(const uint8_t* s, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = int8_t((lo | (hi << 4)) - 32);
  }
}

// dot_rows for a kernel K with K::run<R> for R = 1..4.
template <class K>
void rows(const void* w, const void* a, size_t stride, size_t n_act, size_t n, float* out, size_t os) {
  const std::byte* ab = static_cast<const std::byte*>(a);
  size_t r = 0;
  for (; r + 4 <= n_act; r += 4) K::template run<4>(w, ab + r * stride, stride, n, out + r * os, os);
  switch (n_act - r) {
    case 3: K::template run<3>(w, ab + r * stride, stride, n, out + r * os, os); break;
    case 2: K::template run<2>(w, ab + r * stride, stride, n, out + r * os, os); break;
    case 1: K::template run<1>(w, ab + r * stride, stride, n, out + r * os, os); break;
    default: break;
  }
}
template <class K> float dot1(const void* w, const void* a, size_t n) {
  float o;
  K::template run<1>(w, a, 0, n, &o, 0);
  return o;
}
template <class K> constexpr SimdDot entry(TypeId t) { return {t, dot1<K>, rows<K>}; }

}  // namespace
}  // namespace tessel::ggml
