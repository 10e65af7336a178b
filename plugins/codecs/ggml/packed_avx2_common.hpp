#pragma once
// What the AVX2 packed layouts share (packed_avx2.cpp: Q8_0 and the 32-element
// nibble quants; packed_kquant_avx2.cpp: the K-quants): 8-row groups, the
// activation formats and their quantizers, and small vector helpers.
// Included only by files built with the AVX2 flags; internal linkage, as
// packed_common.hpp explains.
#include <immintrin.h>

#include <cmath>
#include <type_traits>

#include "packed_common.hpp"

namespace tessel::ggml {
namespace {

struct ActQ8 { float d; int32_t sum; int8_t qs[QK]; };            // per 32 values
// ggml's Q8_1 (the activations of Q4_1 / Q5_1): s = d * sum(qs) rounded to
// F16, with d before its own rounding
struct ActQ8_1 { float d, s; int8_t qs[QK]; };
// per 256 values, with the sums of each G quants (Q4_K's mins pair with sums
// of 32, Q6_K's offset with sums of 16)
template <int G> struct ActK { float d; int16_t sum[QK_K / G]; int8_t qs[QK_K]; };

// 8 rows per group; a partial last group stores only its valid rows.
// Layouts give the kit's driver block<J>: one quant block of a group times J
// activation rows, accumulated into one float vector of 8 row sums per row.
struct Avx2Rows {
  static constexpr size_t kRows = 8;
  static constexpr bool kInlineMeta = false;
  using Mask = size_t;
  using Acc = __m256;
  static Mask mask(size_t valid) { return valid; }
  static Acc zero() { return _mm256_setzero_ps(); }
  static void store(float* y, Acc v, size_t valid) {
    if (valid == 8) return _mm256_storeu_ps(y, v);
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    std::copy(t, t + valid, y);
  }
};

// GCC 12 moves the adds of a fully unrolled accumulation chain after all its
// products, keeping 32-64 products alive: they spill to the stack and prompt
// batches ran at a third of the int8 units' speed. An empty asm that claims
// to change the accumulator pins each add where the source puts it.
inline __m256i pinned(__m256i v) {
  asm("" : "+x"(v));
  return v;
}
inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}
// 8 byte scales (one per row), each in both int16 halves of its row's lane,
// so one madd widens and scales a row's int16 pair sums
template <bool kSigned = false> inline __m256i scales16(const void* p) {
  const __m128i x = _mm_loadl_epi64(static_cast<const __m128i*>(p));
  return kSigned ? _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x, x)) : _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(x, x));
}
inline __m256 scales8(const void* p) { return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p))); }
inline float hmax(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)));
}
inline int32_t hsum(__m256i v) {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
  return _mm_cvtsi128_si32(_mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1)));
}
// 32 int32 (values within int8) -> 32 bytes in order.
inline void store_bytes(int8_t* dst, __m256i q0, __m256i q1, __m256i q2, __m256i q3) {
  const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst),
                      _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

// ggml's quantize_row_q8_0_ref: d = amax / 127 rounded to F16, q = roundf(x / d)
// (ties away from zero, which the vector round needs a fix-up for).
template <class Act = ActQ8>
void quantize_q8_blocks(const float* x, Act* out, size_t nb) {
  const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  for (size_t b = 0; b < nb; ++b, x += QK) {
    __m256 v[4], m = _mm256_setzero_ps();
    // max_ps returns its second operand when either is NaN: with m second, a
    // NaN value is skipped as the scalar quantizer's std::max skips it (m
    // first let a NaN lane forget the values before it, so the block was
    // scaled by too small an amax; model-load fuzz finding, #18).
    for (int i = 0; i < 4; ++i) m = _mm256_max_ps(_mm256_andnot_ps(sign, v[i] = _mm256_loadu_ps(x + 8 * i)), m);
    const float d = hmax(m) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    __m256i q[4], sum = _mm256_setzero_si256();
    for (int i = 0; i < 4; ++i) {
      const __m256 s = _mm256_mul_ps(v[i], _mm256_set1_ps(id));
      const __m256 t = _mm256_round_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(s, t)), half, _CMP_GE_OQ);
      const __m256 step = _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(s, sign), one));
      // A NaN converts to INT_MIN, which overflows 8 * sum in the Q4_0 tile
      // (UBSan); the clamp to -128..127 changes no finite value (|q| <= 127).
      q[i] = _mm256_max_epi32(_mm256_cvtps_epi32(_mm256_add_ps(t, step)), _mm256_set1_epi32(-128));
      q[i] = _mm256_min_epi32(q[i], _mm256_set1_epi32(127));
      sum = _mm256_add_epi32(sum, q[i]);
    }
    if constexpr (std::is_same_v<Act, ActQ8_1>)
      out[b].s = _cvtsh_ss(_cvtss_sh(float(hsum(sum)) * d, _MM_FROUND_TO_NEAREST_INT));
    else
      out[b].sum = hsum(sum);
    store_bytes(out[b].qs, q[0], q[1], q[2], q[3]);
  }
}

// ggml's quantize_row_q8_K_ref: scale -127 / (the value of largest magnitude,
// first one wins), nearest-even rounding, clamp at 127; plus sums per G.
template <int G>
void quantize_k_blocks(const float* x, ActK<G>* out, size_t nb) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (size_t b = 0; b < nb; ++b, x += QK_K) {
    __m256 m = _mm256_setzero_ps();
    // The running max second, as in quantize_q8_blocks: a NaN is skipped as
    // the scalar quantizer skips it, instead of hiding the values before it.
    for (int i = 0; i < QK_K; i += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), m);
    const float amax = hmax(m);
    ActK<G>& o = out[b];
    if (amax == 0.0f) {
      std::memset(&o, 0, sizeof o);
      continue;
    }
    float max = 0.0f;
    for (int i = 0; i < QK_K; ++i)
      if (std::fabs(x[i]) == amax) { max = x[i]; break; }
    const float iscale = -127.0f / max;
    for (int s = 0; s < QK_K / 32; ++s) {
      __m256i q[4];
      for (int i = 0; i < 4; ++i) {
        q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * s + 8 * i), _mm256_set1_ps(iscale)));
        q[i] = _mm256_min_epi32(q[i], _mm256_set1_epi32(127));
        q[i] = _mm256_max_epi32(q[i], _mm256_set1_epi32(-128));  // NaN: INT_MIN would overflow h0 + h1
      }
      const int32_t h0 = hsum(_mm256_add_epi32(q[0], q[1])), h1 = hsum(_mm256_add_epi32(q[2], q[3]));
      if constexpr (G == 16) {
        o.sum[2 * s] = int16_t(h0);
        o.sum[2 * s + 1] = int16_t(h1);
      } else {
        o.sum[s] = int16_t(h0 + h1);
      }
      store_bytes(o.qs + 32 * s, q[0], q[1], q[2], q[3]);
    }
    o.d = 1.0f / iscale;
  }
}


}  // namespace
}  // namespace tessel::ggml
