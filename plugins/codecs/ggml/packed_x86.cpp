// Row-interleaved weights for AVX-512 VNNI (see packed.hpp).
//
// A group is 16 weight rows. Within a group, each quant block's quants are
// stored four bytes per row at a time: 64-byte vector k holds bytes
// 4k..4k+3 of rows 0..15; the blocks' scales follow all the quants, so the
// quant vectors stay 64-byte aligned. vpdpbusd(acc, w_k, broadcast(act
// bytes 4k..4k+3)) then adds four products to each row's lane, so after a
// block every int32 lane holds one row's exact integer block sum, and one
// convert + one FMA applies both scales to 16 outputs at once. ggml's
// per-row kernels need a horizontal sum per output instead.
//
// vpdpbusd multiplies unsigned by signed bytes: the weights are made
// unsigned (Q8_0 stored +128, Q4_0/Q4_K nibbles are already 0..15) and the
// activations stay signed; the offset times the activation block sum is
// subtracted exactly by starting the accumulator at -offset * sum.
//
// Activations get their own format (ActQ8 / ActK): ggml's Q8_0 / Q8_K values
// (same rounding, so the integer sums are ggml's) plus the block sums.
#include "packed.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include <sys/mman.h>

#include "packed_common.hpp"

namespace tessel::ggml {
namespace {

// What every AVX-512 layout shares: 16 rows per group, a lane mask for a
// partial last group.
struct Avx512Rows {
  static constexpr size_t kRows = 16;
  static constexpr bool kInlineMeta = false;
  using Mask = __mmask16;
  static Mask mask(size_t valid) { return Mask((1u << valid) - 1); }
};

bool cpu_has_vnni() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
                         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd") &&
                         cpu_has_f16c() && __builtin_cpu_supports("fma");
  return ok;
}

struct ActQ8 { float d; int32_t sum; int8_t qs[QK]; };                   // per 32 values
struct ActK { float d; int16_t sum16[QK_K / 16]; int8_t qs[QK_K]; };     // per 256 values

inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline __m512 scales16(const void* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
}

// ggml's quantize_row_q8_0_ref: d = amax / 127 rounded to F16, q = roundf(x / d)
// (ties away from zero, which the vector round needs a fix-up for).
void quantize_q8_blocks(const float* x, ActQ8* out, size_t nb) {
  const __m512 sign = _mm512_set1_ps(-0.0f), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
  for (size_t b = 0; b < nb; ++b, x += QK) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    // max_ps returns its second operand when either is NaN: a running max
    // in second place skips NaN values as the scalar quantizer does (a NaN
    // lane used to hide the other half's value or make amax NaN; #18).
    const __m512 m0 = _mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_setzero_ps());
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, v1), m0));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = h2f(f2h(d));
    __m512i sum = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      const __m512 s = _mm512_mul_ps(h ? v1 : v0, _mm512_set1_ps(id));
      const __m512 t = _mm512_roundscale_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m512 frac = _mm512_andnot_ps(sign, _mm512_sub_ps(s, t));
      const __mmask16 away = _mm512_cmp_ps_mask(frac, half, _CMP_GE_OQ);
      const __m512 r = _mm512_mask_add_ps(t, away, t, _mm512_or_ps(_mm512_and_ps(s, sign), one));
      // A NaN converts to INT_MIN: two of them overflow GCC's signed
      // reduction below (UB). The clamp to -128..127 changes no finite value
      // (|q| <= 127).
      const __m512i q = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(r), _mm512_set1_epi32(-128)),
                                         _mm512_set1_epi32(127));
      sum = _mm512_add_epi32(sum, q);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs + 16 * h), _mm512_cvtepi32_epi8(q));
    }
    out[b].sum = _mm512_reduce_add_epi32(sum);
  }
}

// ggml's quantize_row_q8_K_ref: scale -127 / (the value of largest magnitude,
// first one wins), nearest-even rounding, clamp at 127.
void quantize_k_blocks(const float* x, ActK* out, size_t nb) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (size_t b = 0; b < nb; ++b, x += QK_K) {
    __m512 m = _mm512_setzero_ps();
    // The running max second, as in quantize_q8_blocks: a NaN is skipped as
    // the scalar quantizer skips it, instead of hiding the values before it.
    for (int i = 0; i < QK_K; i += 16) m = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + i)), m);
    const float amax = _mm512_reduce_max_ps(m);
    ActK& o = out[b];
    if (amax == 0.0f) {
      std::memset(&o, 0, sizeof o);
      continue;
    }
    float max = 0.0f;
    for (int i = 0; i < QK_K; ++i)
      if (std::fabs(x[i]) == amax) { max = x[i]; break; }
    const float iscale = -127.0f / max;
    for (int g = 0; g < QK_K / 16; ++g) {
      __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), _mm512_set1_ps(iscale)));
      q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
      // A NaN activation converts to INT_MIN and 16 of those overflow the
      // signed sum (UB); -128 changes no finite value (|x * iscale| <= 127).
      q = _mm512_max_epi32(q, _mm512_set1_epi32(-128));
      o.sum16[g] = int16_t(_mm512_reduce_add_epi32(q));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o.qs + 16 * g), _mm512_cvtepi32_epi8(q));
    }
    o.d = 1.0f / iscale;
  }
}

// ---- Q8_0: 8 vectors of (q + 128); 16 F16 scales.
struct Q8_0Layout : Avx512Rows {
  using Block = BlockQ8_0;
  using Act = ActQ8;
  static constexpr size_t kBlock = QK, kQuant = 8 * 64, kMeta = 32;
  static constexpr int kTile = 8;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_q8_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) std::memcpy(meta + 2 * r, &rows[r]->d, 2);
    for (size_t r = 0; r < kRows; ++r)
      for (int k = 0; k < 8; ++k) {
        uint32_t v;
        std::memcpy(&v, rows[r]->qs + 4 * k, 4);
        v ^= 0x80808080u;  // signed -> unsigned (+128)
        std::memcpy(dst + 64 * k + 4 * r, &v, 4);
      }
  }
  template <int J>
  static void tile(const std::byte* grp, size_t nb, const std::byte* a, size_t ab, float* y, size_t ys,
                   __mmask16 mask) {
    constexpr int P = J == 1 ? 2 : 1;  // two chains when alone, to hide vpdpbusd latency
    __m512 fa[J];
    for (int j = 0; j < J; ++j) fa[j] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; ++b) {
      const std::byte* blk = quant_at<Q8_0Layout>(grp, nb, b);
      if constexpr (J <= 2) prefetch_block<Q8_0Layout>(grp, nb, b);
      __m512i acc[J][P];
      for (int j = 0; j < J; ++j) {
        acc[j][0] = _mm512_set1_epi32(-128 * act_block<Act>(a, ab, j, b).sum);
        if (P > 1) acc[j][P - 1] = _mm512_setzero_si512();
      }
      for (int k = 0; k < 8; ++k) {
        const __m512i w = _mm512_load_si512(blk + 64 * k);
        for (int j = 0; j < J; ++j)
          acc[j][k % P] = _mm512_dpbusd_epi32(acc[j][k % P], w, bcast4(act_block<Act>(a, ab, j, b).qs + 4 * k));
      }
      const __m512 dw = scales16(meta_at<Q8_0Layout>(grp, nb, b));
      for (int j = 0; j < J; ++j) {
        const __m512i s = P > 1 ? _mm512_add_epi32(acc[j][0], acc[j][P - 1]) : acc[j][0];
        fa[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
                                _mm512_mul_ps(dw, _mm512_set1_ps(act_block<Act>(a, ab, j, b).d)), fa[j]);
      }
    }
    for (int j = 0; j < J; ++j) _mm512_mask_storeu_ps(y + size_t(j) * ys, mask, fa[j]);
  }
};

// ---- Q4_0: 4 vectors of packed nibbles: vector k holds qs[4k..4k+3] of each
// row, low nibbles = elements 4k.., high = 16 + 4k..; 16 F16 scales.
struct Q4_0Layout : Avx512Rows {
  using Block = BlockQ4_0;
  using Act = ActQ8;
  static constexpr size_t kBlock = QK, kQuant = 4 * 64, kMeta = 32;
  static constexpr int kTile = 8;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_q8_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) std::memcpy(meta + 2 * r, &rows[r]->d, 2);
    for (int k = 0; k < 4; ++k)
      for (size_t r = 0; r < kRows; ++r) std::memcpy(dst + 64 * k + 4 * r, rows[r]->qs + 4 * k, 4);
  }
  template <int J>
  static void tile(const std::byte* grp, size_t nb, const std::byte* a, size_t ab, float* y, size_t ys,
                   __mmask16 mask) {
    constexpr int P = J == 1 ? 2 : 1;
    const __m512i lo = _mm512_set1_epi8(0x0F);
    __m512 fa[J];
    for (int j = 0; j < J; ++j) fa[j] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; ++b) {
      const std::byte* blk = quant_at<Q4_0Layout>(grp, nb, b);
      if constexpr (J <= 2) prefetch_block<Q4_0Layout>(grp, nb, b);
      __m512i acc[J][P];
      for (int j = 0; j < J; ++j) {
        acc[j][0] = _mm512_set1_epi32(-8 * act_block<Act>(a, ab, j, b).sum);
        if (P > 1) acc[j][P - 1] = _mm512_setzero_si512();
      }
      for (int k = 0; k < 4; ++k) {
        const __m512i raw = _mm512_load_si512(blk + 64 * k);
        const __m512i wl = _mm512_and_si512(raw, lo), wh = _mm512_and_si512(_mm512_srli_epi16(raw, 4), lo);
        for (int j = 0; j < J; ++j) {
          const int8_t* q = act_block<Act>(a, ab, j, b).qs;
          acc[j][0] = _mm512_dpbusd_epi32(acc[j][0], wl, bcast4(q + 4 * k));
          acc[j][P - 1] = _mm512_dpbusd_epi32(acc[j][P - 1], wh, bcast4(q + 16 + 4 * k));
        }
      }
      const __m512 dw = scales16(meta_at<Q4_0Layout>(grp, nb, b));
      for (int j = 0; j < J; ++j) {
        const __m512i s = P > 1 ? _mm512_add_epi32(acc[j][0], acc[j][P - 1]) : acc[j][0];
        fa[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
                                _mm512_mul_ps(dw, _mm512_set1_ps(act_block<Act>(a, ab, j, b).d)), fa[j]);
      }
    }
    for (int j = 0; j < J; ++j) _mm512_mask_storeu_ps(y + size_t(j) * ys, mask, fa[j]);
  }
};

// ---- Q4_K: for each 64-element chunk c, 8 vectors: vector k holds
// qs[32c + 4k..] of each row; low nibbles belong to sub-block 2c, high
// nibbles to 2c + 1. Meta: 16 F16 d, 16 F16 dmin, 8 x 16 u8 scales, 8 x 16 u8 mins.
struct Q4_KLayout : Avx512Rows {
  using Block = BlockQ4_K;
  using Act = ActK;
  static constexpr size_t kBlock = QK_K, kQuant = 32 * 64, kMeta = 64 + 128 + 128;
  static constexpr int kTile = 4;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_k_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    uint8_t* sc = reinterpret_cast<uint8_t*>(meta + 64);
    uint8_t* mn = sc + 128;
    for (size_t r = 0; r < kRows; ++r) {
      std::memcpy(meta + 2 * r, &rows[r]->d, 2);
      std::memcpy(meta + 32 + 2 * r, &rows[r]->dmin, 2);
      for (int s = 0; s < 8; ++s) scale_min_k4(s, rows[r]->scales, sc[16 * s + r], mn[16 * s + r]);
    }
    for (int c = 0; c < 4; ++c)
      for (int k = 0; k < 8; ++k)
        for (size_t r = 0; r < kRows; ++r)
          std::memcpy(dst + 64 * (8 * c + k) + 4 * r, rows[r]->qs + 32 * c + 4 * k, 4);
  }
  template <int J>
  static void tile(const std::byte* grp, size_t nb, const std::byte* a, size_t ab, float* y, size_t ys,
                   __mmask16 mask) {
    const __m512i lo = _mm512_set1_epi8(0x0F);
    __m512 fa[J];
    for (int j = 0; j < J; ++j) fa[j] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; ++b) {
      const std::byte* blk = quant_at<Q4_KLayout>(grp, nb, b);
      if constexpr (J <= 2) prefetch_block<Q4_KLayout>(grp, nb, b);
      const std::byte* meta = meta_at<Q4_KLayout>(grp, nb, b);
      const uint8_t* sc = reinterpret_cast<const uint8_t*>(meta + 64);
      __m512i isum[J], msum[J];
      for (int j = 0; j < J; ++j) isum[j] = msum[j] = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c) {
        __m512i al[J], ah[J];
        for (int j = 0; j < J; ++j) al[j] = ah[j] = _mm512_setzero_si512();
        for (int k = 0; k < 8; ++k) {
          const __m512i raw = _mm512_load_si512(blk + 64 * (8 * c + k));
          const __m512i wl = _mm512_and_si512(raw, lo), wh = _mm512_and_si512(_mm512_srli_epi16(raw, 4), lo);
          for (int j = 0; j < J; ++j) {
            const int8_t* q = act_block<Act>(a, ab, j, b).qs + 64 * c + 4 * k;
            al[j] = _mm512_dpbusd_epi32(al[j], wl, bcast4(q));
            ah[j] = _mm512_dpbusd_epi32(ah[j], wh, bcast4(q + 32));
          }
        }
        const __m512i s0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 32 * c)));
        const __m512i s1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 32 * c + 16)));
        for (int j = 0; j < J; ++j)
          isum[j] = _mm512_add_epi32(isum[j], _mm512_add_epi32(_mm512_mullo_epi32(al[j], s0),
                                                               _mm512_mullo_epi32(ah[j], s1)));
      }
      // mins: each lane pairs (m, m) with the activation's two 16-sums of a sub-block
      const uint8_t* mn = sc + 128;
      for (int s = 0; s < 8; ++s) {
        const __m512i m32 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mn + 16 * s)));
        const __m512i m2 = _mm512_or_si512(m32, _mm512_slli_epi32(m32, 16));
        for (int j = 0; j < J; ++j) {
          int32_t pair;
          std::memcpy(&pair, act_block<Act>(a, ab, j, b).sum16 + 2 * s, 4);
          msum[j] = _mm512_dpwssd_epi32(msum[j], m2, _mm512_set1_epi32(pair));
        }
      }
      const __m512 d = scales16(meta), dmin = scales16(meta + 32);
      for (int j = 0; j < J; ++j) {
        const __m512 ad = _mm512_set1_ps(act_block<Act>(a, ab, j, b).d);
        fa[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]), _mm512_mul_ps(d, ad), fa[j]);
        fa[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum[j]), _mm512_mul_ps(dmin, ad), fa[j]);
      }
    }
    for (int j = 0; j < J; ++j) _mm512_mask_storeu_ps(y + size_t(j) * ys, mask, fa[j]);
  }
};

// ---- Q6_K keeps its 6 bits: for each half h and k (elements l = 4k..4k+3 of
// the half's four 32-element runs), three vectors: ql[64h + 4k..],
// ql[64h + 32 + 4k..], qh[32h + 4k..] of each row. Run m of the half takes
// the low (m < 2) or high nibble of the first (m even) or second vector, and
// bits 2m..2m+1 of the third. Meta: 16 F16 d, 16 x 16 int8 scales (per 16).
struct Q6_KLayout : Avx512Rows {
  using Block = BlockQ6_K;
  using Act = ActK;
  static constexpr size_t kBlock = QK_K, kQuant = 48 * 64, kMeta = 32 + 256;
  static constexpr int kTile = 4;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_k_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) {
      std::memcpy(meta + 2 * r, &rows[r]->d, 2);
      for (int s = 0; s < 16; ++s) std::memcpy(meta + 32 + 16 * s + r, &rows[r]->scales[s], 1);
    }
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 8; ++k) {
        std::byte* v = dst + 64 * 3 * (8 * h + k);
        for (size_t r = 0; r < kRows; ++r) {
          std::memcpy(v + 4 * r, rows[r]->ql + 64 * h + 4 * k, 4);
          std::memcpy(v + 64 + 4 * r, rows[r]->ql + 64 * h + 32 + 4 * k, 4);
          std::memcpy(v + 128 + 4 * r, rows[r]->qh + 32 * h + 4 * k, 4);
        }
      }
  }
  template <int J>
  static void tile(const std::byte* grp, size_t nb, const std::byte* a, size_t ab, float* y, size_t ys,
                   __mmask16 mask) {
    const __m512i lo = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
    __m512 fa[J];
    for (int j = 0; j < J; ++j) fa[j] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; ++b) {
      const std::byte* blk = quant_at<Q6_KLayout>(grp, nb, b);
      if constexpr (J <= 2) prefetch_block<Q6_KLayout>(grp, nb, b);
      const std::byte* meta = meta_at<Q6_KLayout>(grp, nb, b);
      const int8_t* sc = reinterpret_cast<const int8_t*>(meta + 32);
      __m512i isum[J];
      for (int j = 0; j < J; ++j) isum[j] = _mm512_setzero_si512();
      for (int h = 0; h < 2; ++h)
        for (int half = 0; half < 2; ++half)
          for (int m = 0; m < 4; ++m) {
            __m512i acc[J];
            for (int j = 0; j < J; ++j) acc[j] = _mm512_setzero_si512();
            for (int k = 4 * half; k < 4 * half + 4; ++k) {
              const std::byte* v = blk + 64 * 3 * (8 * h + k);
              const __m512i low = _mm512_load_si512(v + 64 * (m & 1));
              const __m512i nib = _mm512_and_si512(m < 2 ? low : _mm512_srli_epi16(low, 4), lo);
              const __m512i hi2 = _mm512_and_si512(_mm512_srli_epi16(_mm512_load_si512(v + 128), 2 * m), m3);
              const __m512i q = _mm512_or_si512(nib, _mm512_slli_epi16(hi2, 4));
              for (int j = 0; j < J; ++j)
                acc[j] = _mm512_dpbusd_epi32(acc[j], q, bcast4(act_block<Act>(a, ab, j, b).qs + 128 * h + 32 * m + 4 * k));
            }
            const int sub = 8 * h + 2 * m + half;
            const __m512i s32 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 16 * sub)));
            for (int j = 0; j < J; ++j) isum[j] = _mm512_add_epi32(isum[j], _mm512_mullo_epi32(acc[j], s32));
          }
      // the +32 storage offset: 32 * sum over sub-blocks of scale * activation 16-sum
      for (int t = 0; t < 8; ++t) {
        const __m512i e0 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 32 * t)));
        const __m512i e1 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 32 * t + 16)));
        const __m512i pair = _mm512_or_si512(_mm512_and_si512(e0, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(e1, 16));
        for (int j = 0; j < J; ++j) {
          int32_t sums;
          std::memcpy(&sums, act_block<Act>(a, ab, j, b).sum16 + 2 * t, 4);
          const __m512i corr = _mm512_dpwssd_epi32(_mm512_setzero_si512(), pair, _mm512_set1_epi32(sums));
          isum[j] = _mm512_sub_epi32(isum[j], _mm512_slli_epi32(corr, 5));
        }
      }
      const __m512 d = scales16(meta);
      for (int j = 0; j < J; ++j)
        fa[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]),
                                _mm512_mul_ps(d, _mm512_set1_ps(act_block<Act>(a, ab, j, b).d)), fa[j]);
    }
    for (int j = 0; j < J; ++j) _mm512_mask_storeu_ps(y + size_t(j) * ys, mask, fa[j]);
  }
};

}  // namespace

std::unique_ptr<PackedMatrix> pack_matrix(TypeId type, const void* w, size_t n_out, size_t n_in,
                                          ThreadPool* pool) {
  if (std::getenv("TESSEL_NO_PACK")) return nullptr;
  if (!cpu_has_vnni()) return pack_matrix_avx2(type, w, n_out, n_in, pool);
  switch (type) {
    case TypeId::Q8_0: return make<Q8_0Layout>(w, n_out, n_in, pool);
    case TypeId::Q4_0: return make<Q4_0Layout>(w, n_out, n_in, pool);
    case TypeId::Q4_K: return make<Q4_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q6_K: return make<Q6_KLayout>(w, n_out, n_in, pool);
    default: return nullptr;
  }
}

}  // namespace tessel::ggml

#else  // not x86-64: no packed kernels

namespace tessel::ggml {
std::unique_ptr<PackedMatrix> pack_matrix(TypeId, const void*, size_t, size_t, ThreadPool*) {
  return nullptr;
}
}  // namespace tessel::ggml

#endif
