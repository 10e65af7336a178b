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
// 16 int8 group scales (groups of 16 elements) -> 8 vectors of int32 for the
// 8 products of 32 bytes: lanes 0-3 hold scale 2c, lanes 4-7 scale 2c+1.
inline void pair_scales(__m128i sc8, __m256i out[8]) {
  const __m256i lo = _mm256_cvtepi8_epi32(sc8), hi = _mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8));
  for (int c = 0; c < 8; ++c) {
    const int k = 2 * (c % 4);
    const __m256i idx = _mm256_setr_epi32(k, k, k, k, k + 1, k + 1, k + 1, k + 1);
    out[c] = _mm256_permutevar8x32_epi32(c < 4 ? lo : hi, idx);
  }
}
// 8 unsigned byte scales (groups of 32) -> 8 vectors of that scale as int32.
inline void broadcast_scales(uint64_t sc8, __m256i out[8]) {
  const __m256i s = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(sc8)));
  for (int c = 0; c < 8; ++c) out[c] = _mm256_permutevar8x32_epi32(s, _mm256_set1_epi32(c));
}

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

// The 6-bit scales and mins of Q4_K / Q5_K (as blocks.hpp's scale_min_k4),
// 8 bytes each (byte j = group j), from the 12-byte table as three words:
// groups 0-3 keep their low 6 bits in bytes 0-3 (scales) and 4-7 (mins);
// groups 4-7 have their low 4 bits in the nibbles of bytes 8-11 and their
// top 2 bits in the top bits of bytes 0-3 (scales) and 4-7 (mins).
inline void scales_mins_k4(const uint8_t* q, uint64_t& scales, uint64_t& mins) {
  uint32_t w0, w1, w2;
  std::memcpy(&w0, q, 4);
  std::memcpy(&w1, q + 4, 4);
  std::memcpy(&w2, q + 8, 4);
  const uint32_t low6 = 0x3F3F3F3Fu, nib = 0x0F0F0F0Fu, top2 = 0x03030303u;
  const uint32_t sc_hi = (w2 & nib) | (((w0 >> 6) & top2) << 4);
  const uint32_t m_hi = ((w2 >> 4) & nib) | (((w1 >> 6) & top2) << 4);
  scales = uint64_t(w0 & low6) | uint64_t(sc_hi) << 32;
  mins = uint64_t(w1 & low6) | uint64_t(m_hi) << 32;
}
// The 16 signed 6-bit scales of Q3_K (as blocks.hpp's unpack_q3_scales):
// low nibbles of bytes 0-7 are groups 0-7, their high nibbles groups 8-15;
// bits 2k..2k+1 of byte 8 + j%4 are the top bits of group j = 4k + j%4.
inline __m128i q3_scales(const uint8_t* s) {
  uint64_t nibbles;
  uint32_t top;
  std::memcpy(&nibbles, s, 8);
  std::memcpy(&top, s + 8, 4);
  const uint64_t nib = 0x0F0F0F0F0F0F0F0Full;
  const __m128i lo = _mm_set_epi64x(int64_t((nibbles >> 4) & nib), int64_t(nibbles & nib));
  // 32-bit lane k = top >> 2k: byte j%4 of lane k holds group 4k + j%4's bits
  const __m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(int(top)), _mm_setr_epi32(0, 2, 4, 6)),
                                   _mm_set1_epi8(3));
  return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
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
template <class K> constexpr SimdDot entry(TypeId t) { return {t, dot1<K>, rows<K>, nullptr}; }
// Kernels with a run_w<R> form (R weight rows, one activation row) also serve dot_weights.
template <class K> void weights(const void* w, size_t ws, size_t n_w, const void* a, size_t n, float* out) {
  const auto* p = static_cast<const std::byte*>(w);
  size_t o = 0;
  for (; o + 4 <= n_w; o += 4) K::template run_w<4>(p + o * ws, ws, a, n, out + o);
  for (; o < n_w; ++o) K::template run_w<1>(p + o * ws, ws, a, n, out + o);
}
template <class K> constexpr SimdDot entry_w(TypeId t) { return {t, dot1<K>, rows<K>, weights<K>}; }

}  // namespace
}  // namespace tessel::ggml
