// Row-interleaved weights for AVX2 CPUs without AVX-512 VNNI (see packed.hpp
// and packed_x86.cpp for the idea): a group is 8 weight rows; a 32-byte
// vector holds four quant bytes of each row, so maddubs against four
// broadcast activation bytes leaves each row's products in its own lane and
// no horizontal sum is needed per output. The per-row dots (simd_dots_*)
// spend most of their instructions per byte on unpacking, sign fix-ups and a
// scale multiply per row and block; here one unpack, one scale conversion and
// one FMA serve 8 rows, which is what lets one core keep up with memory in
// decode and leaves the int8 units busy in prompt processing.
//
// maddubs multiplies unsigned by signed bytes: Q4_0 and Q4_K nibbles are
// 0..15 and Q6_K values 0..63 (their -8 / -32 offsets are subtracted exactly
// via the activation's block sums), Q8_0 goes through |w| and the
// activation with w's sign; activations are ggml's Q8_0 / Q8_K values.
// Products are summed in int16 only as far as they cannot saturate (eight
// 4-bit, two 6-bit, one 8-bit maddubs result), then widened by one madd.
#include "packed.hpp"

#if defined(__x86_64__)
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

// ---- Q8_0: 8 vectors: vector k holds qs[4k..4k+3] of each row, signed;
// maddubs takes |w| and the activation with w's sign. A pair of products
// can reach 2 * 127 * 127, so each maddubs result is widened at once.
struct Q8_0Layout : Avx2Rows {
  using Block = BlockQ8_0;
  using Act = ActQ8;
  static constexpr size_t kBlock = QK, kQuant = 8 * 32, kMeta = 16;
  static constexpr int kTile = 4;
  static constexpr size_t kDecodeGroups = 4;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_q8_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) std::memcpy(meta + 2 * r, &rows[r]->d, 2);
    for (int k = 0; k < 8; ++k)
      for (size_t r = 0; r < kRows; ++r) std::memcpy(dst + 32 * k + 4 * r, rows[r]->qs + 4 * k, 4);
  }
  template <int J>
  [[gnu::always_inline]] static void block(const std::byte* grp, size_t nb, size_t b, const std::byte* a, size_t ab,
                                           __m256 (&fa)[J]) {
    const __m256i ones = _mm256_set1_epi16(1);
    const std::byte* blk = quant_at<Q8_0Layout>(grp, nb, b);
    __m256i acc[J];
    for (int j = 0; j < J; ++j) acc[j] = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) {
      const __m256i w = load(blk + 32 * k), aw = _mm256_abs_epi8(w);
      for (int j = 0; j < J; ++j) {
        const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(bcast4(act_block<Act>(a, ab, j, b).qs + 4 * k), w));
        acc[j] = pinned(_mm256_add_epi32(acc[j], _mm256_madd_epi16(p, ones)));
      }
    }
    const __m256 dw = scales8(meta_at<Q8_0Layout>(grp, nb, b));
    for (int j = 0; j < J; ++j)
      fa[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[j]),
                              _mm256_mul_ps(dw, _mm256_set1_ps(act_block<Act>(a, ab, j, b).d)), fa[j]);
  }
};

// ---- The 32-element quants with nibbles: Q4_0, Q4_1, Q5_0, Q5_1. 4 vectors
// of packed nibbles: vector k holds qs[4k..4k+3] of each row, low nibbles =
// elements 4k.., high = 16 + 4k... Q5_0 / Q5_1 add one vector of fifth bits:
// byte i of a row's lane holds, at bit 2k, the bit of element 4k + i and at
// 2k + 1 that of 16 + 4k + i. Meta: 8 F16 scales, then (Q4_1 / Q5_1) 8 F16
// mins. Q4_0 / Q5_0 subtract their 8 / 16 offset through the activation's
// block sum; Q4_1 / Q5_1 add min * (Q8_1's s), as ggml's dots do.
template <class B, bool kFive, bool kMin>
struct LegacyLayout : Avx2Rows {
  using Block = B;
  using Act = std::conditional_t<kMin, ActQ8_1, ActQ8>;
  static constexpr size_t kBlock = QK, kQuant = 4 * 32 + (kFive ? 32 : 0), kMeta = kMin ? 32 : 16;
  // scales beside their quants, one stream: decode 1.15-1.22x at -t 1 and
  // 1.06-1.20x at -t 2 in paired runs (Q8_0 gained nothing from the same)
  static constexpr bool kInlineMeta = true;
  static constexpr int kTile = 4;
  static constexpr size_t kDecodeGroups = 1;
  static constexpr int kOffset = kMin ? 0 : kFive ? 16 : 8;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_q8_blocks<Act>(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) {
      std::memcpy(meta + 2 * r, &rows[r]->d, 2);
      if constexpr (kMin) std::memcpy(meta + 16 + 2 * r, &rows[r]->m, 2);
    }
    for (int k = 0; k < 4; ++k)
      for (size_t r = 0; r < kRows; ++r) std::memcpy(dst + 32 * k + 4 * r, rows[r]->qs + 4 * k, 4);
    if constexpr (kFive)
      for (size_t r = 0; r < kRows; ++r) {
        uint32_t qh;
        std::memcpy(&qh, rows[r]->qh, 4);
        for (int i = 0; i < 4; ++i) {
          uint8_t bits = 0;
          for (int k = 0; k < 4; ++k)
            bits |= uint8_t(((qh >> (4 * k + i)) & 1) << (2 * k) | ((qh >> (16 + 4 * k + i)) & 1) << (2 * k + 1));
          dst[128 + 4 * r + size_t(i)] = std::byte(bits);
        }
      }
  }
  template <int J>
  [[gnu::always_inline]] static void block(const std::byte* grp, size_t nb, size_t b, const std::byte* a, size_t ab,
                                           __m256 (&fa)[J]) {
    const __m256i lo = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1), bit = _mm256_set1_epi8(1);
    const std::byte* blk = quant_at<LegacyLayout>(grp, nb, b);
    const std::byte* meta = meta_at<LegacyLayout>(grp, nb, b);
    __m256i acc[J], wide[J];  // 5-bit products: four maddubs fit int16, so widen halfway
    for (int j = 0; j < J; ++j) acc[j] = wide[j] = _mm256_setzero_si256();
    for (int k = 0; k < 4; ++k) {
      const __m256i raw = load(blk + 32 * k);
      __m256i wl = _mm256_and_si256(raw, lo), wh = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo);
      if constexpr (kFive) {
        const __m256i qh = load(blk + 128);  // bytes <= 1 after the masks: the shifts carry nothing
        wl = _mm256_or_si256(wl, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), bit), 4));
        wh = _mm256_or_si256(wh, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k + 1), bit), 4));
      }
      for (int j = 0; j < J; ++j) {
        const int8_t* q = act_block<Act>(a, ab, j, b).qs;
        acc[j] = _mm256_add_epi16(acc[j], _mm256_maddubs_epi16(wl, bcast4(q + 4 * k)));
        acc[j] = pinned(_mm256_add_epi16(acc[j], _mm256_maddubs_epi16(wh, bcast4(q + 16 + 4 * k))));
      }
      if constexpr (kFive)
        if (k == 1)
          for (int j = 0; j < J; ++j) {
            wide[j] = _mm256_madd_epi16(acc[j], ones);
            acc[j] = _mm256_setzero_si256();
          }
    }
    const __m256 dw = scales8(meta);
    for (int j = 0; j < J; ++j) {
      const Act& A = act_block<Act>(a, ab, j, b);
      __m256i s = _mm256_madd_epi16(acc[j], ones);
      if constexpr (kFive) s = _mm256_add_epi32(s, wide[j]);
      if constexpr (kOffset != 0) s = _mm256_sub_epi32(s, _mm256_set1_epi32(kOffset * A.sum));
      fa[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(A.d)), fa[j]);
      if constexpr (kMin) fa[j] = _mm256_fmadd_ps(scales8(meta + 16), _mm256_set1_ps(A.s), fa[j]);
    }
  }
};
using Q4_0Layout = LegacyLayout<BlockQ4_0, false, false>;
using Q4_1Layout = LegacyLayout<BlockQ4_1, false, true>;
using Q5_0Layout = LegacyLayout<BlockQ5_0, true, false>;
using Q5_1Layout = LegacyLayout<BlockQ5_1, true, true>;

// ---- Q4_K / Q5_K: for each 64-element chunk c, 8 vectors: vector k holds
// qs[32c + 4k..] of each row; low nibbles belong to sub-block 2c, high
// nibbles to 2c + 1. Q5_K adds 8 vectors of qh[4k..] (bit 2c of a byte is
// the fifth bit of its low nibble's element, bit 2c + 1 of the high one's).
// Meta: 8 F16 d, 8 F16 dmin, 8 x 8 u8 scales (sub-block major), then the
// mins as 4 x (row-major pairs m[2t], m[2t+1]) so one madd with the
// activation's two sub-block sums handles two sub-blocks.
template <class B, bool kFive>
struct KQuantLayout : Avx2Rows {
  using Block = B;
  using Act = ActK<32>;
  static constexpr size_t kBlock = QK_K, kQuant = 32 * 32 + (kFive ? 8 * 32 : 0), kMeta = 32 + 64 + 64;
  static constexpr bool kInlineMeta = true;
  static constexpr int kTile = 4;
  static constexpr size_t kDecodeGroups = 1;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_k_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    uint8_t* sc = reinterpret_cast<uint8_t*>(meta + 32);
    uint8_t* mn = sc + 64;
    for (size_t r = 0; r < kRows; ++r) {
      std::memcpy(meta + 2 * r, &rows[r]->d, 2);
      std::memcpy(meta + 16 + 2 * r, &rows[r]->dmin, 2);
      for (int s = 0; s < 8; ++s) scale_min_k4(s, rows[r]->scales, sc[8 * s + r], mn[16 * (s / 2) + 2 * r + s % 2]);
    }
    for (int c = 0; c < 4; ++c)
      for (int k = 0; k < 8; ++k)
        for (size_t r = 0; r < kRows; ++r)
          std::memcpy(dst + 32 * (8 * c + k) + 4 * r, rows[r]->qs + 32 * c + 4 * k, 4);
    if constexpr (kFive)
      for (int k = 0; k < 8; ++k)
        for (size_t r = 0; r < kRows; ++r) std::memcpy(dst + 1024 + 32 * k + 4 * r, rows[r]->qh + 4 * k, 4);
  }
  // Step k of chunk c: one vector of each row's quants times J rows.
  template <int J>
  [[gnu::always_inline]] static void step(const std::byte* blk, int c, int k, const std::byte* a, size_t ab, size_t b,
                                          __m256i (&l16)[J], __m256i (&h16)[J]) {
    const __m256i lo = _mm256_set1_epi8(0x0F), bit = _mm256_set1_epi8(1);
    const __m256i raw = load(blk + 32 * (8 * c + k));
    __m256i wl = _mm256_and_si256(raw, lo), wh = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo);
    if constexpr (kFive) {
      const __m256i qh = load(blk + 1024 + 32 * k);
      const __m256i bl = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), bit);
      const __m256i bh = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), bit);
      wl = _mm256_or_si256(wl, _mm256_slli_epi16(bl, 4));  // bytes <= 1 before: no carry
      wh = _mm256_or_si256(wh, _mm256_slli_epi16(bh, 4));
    }
    for (int j = 0; j < J; ++j) {
      const int8_t* q = act_block<Act>(a, ab, j, b).qs + 64 * c + 4 * k;
      l16[j] = pinned(_mm256_add_epi16(l16[j], _mm256_maddubs_epi16(wl, bcast4(q))));
      h16[j] = pinned(_mm256_add_epi16(h16[j], _mm256_maddubs_epi16(wh, bcast4(q + 32))));
    }
  }
  template <int J>
  [[gnu::always_inline]] static void block(const std::byte* grp, size_t nb, size_t b, const std::byte* a, size_t ab,
                                           __m256 (&fa)[J]) {
    const std::byte* blk = quant_at<KQuantLayout>(grp, nb, b);
    const std::byte* meta = meta_at<KQuantLayout>(grp, nb, b);
    const uint8_t* sc = reinterpret_cast<const uint8_t*>(meta + 32);
    __m256i isum[J];
    for (int j = 0; j < J; ++j) isum[j] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      // each row's scale in both int16 halves of its lane: one madd widens
      // and scales (|l16| <= 8 * 2 * 15 * 127, times 63, summed in pairs: no overflow)
      const __m256i s0 = scales16(sc + 16 * c), s1 = scales16(sc + 16 * c + 8);
      // 4-bit products: eight maddubs fit int16; 5-bit: four, so widen twice per chunk
      for (int k0 = 0; k0 < 8; k0 += kFive ? 4 : 8) {
        __m256i l16[J], h16[J];
        for (int j = 0; j < J; ++j) l16[j] = h16[j] = _mm256_setzero_si256();
        // Q4_K's eight steps unrolled for prompt tiles: rolled, GCC copied
        // every int16 accumulator once per step (a vmovdqa after each add),
        // ~12 % of the tile's speed. Q5_K's four ran slower unrolled, and
        // decode (J = 1) keeps the rolled loop it was measured with.
        if constexpr (kFive || J == 1) {
          for (int k = k0; k < k0 + (kFive ? 4 : 8); ++k) step<J>(blk, c, k, a, ab, b, l16, h16);
        } else {
#pragma GCC unroll 8
          for (int k = k0; k < k0 + 8; ++k) step<J>(blk, c, k, a, ab, b, l16, h16);
        }
        for (int j = 0; j < J; ++j)
          isum[j] = _mm256_add_epi32(isum[j], _mm256_add_epi32(_mm256_madd_epi16(l16[j], s0),
                                                               _mm256_madd_epi16(h16[j], s1)));
      }
    }
    const uint8_t* mn = sc + 64;
    __m256i msum[J];
    for (int j = 0; j < J; ++j) msum[j] = _mm256_setzero_si256();
    for (int t = 0; t < 4; ++t) {
      const __m256i m16 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mn + 16 * t)));
      for (int j = 0; j < J; ++j) {
        int32_t pair;
        std::memcpy(&pair, act_block<Act>(a, ab, j, b).sum + 2 * t, 4);
        msum[j] = _mm256_add_epi32(msum[j], _mm256_madd_epi16(m16, _mm256_set1_epi32(pair)));
      }
    }
    const __m256 d = scales8(meta), dmin = scales8(meta + 16);
    for (int j = 0; j < J; ++j) {
      const __m256 ad = _mm256_set1_ps(act_block<Act>(a, ab, j, b).d);
      fa[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_mul_ps(d, ad), fa[j]);
      fa[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum[j]), _mm256_mul_ps(dmin, ad), fa[j]);
    }
  }
};
using Q4_KLayout = KQuantLayout<BlockQ4_K, false>;
using Q5_KLayout = KQuantLayout<BlockQ5_K, true>;

// isum -= 2^kShift * sum over the 16 groups of (row scale x activation
// 16-sum): the unsigned storage offset of Q3_K (4) and Q6_K (32). sc: 16
// groups x 8 rows of int8 scales, group major.
template <int kShift, int J>
[[gnu::always_inline]] inline void sub_group_offsets(const int8_t* sc, const std::byte* a, size_t ab, size_t b,
                                                     __m256i (&isum)[J]) {
  for (int t = 0; t < 8; ++t) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 16 * t));
    const __m256i pair_sc = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x, _mm_srli_si128(x, 8)));
    for (int j = 0; j < J; ++j) {
      int32_t sums;
      std::memcpy(&sums, act_block<ActK<16>>(a, ab, j, b).sum + 2 * t, 4);
      const __m256i corr = _mm256_madd_epi16(pair_sc, _mm256_set1_epi32(sums));
      isum[j] = _mm256_sub_epi32(isum[j], _mm256_slli_epi32(corr, kShift));
    }
  }
}

// ---- Q3_K: values q + 4 (0..7, low two bits and hmask's bit) of eight
// 32-element runs m share three vectors per k: byte i of a row's lane in A
// holds runs 0, 1 (bits 0-2, 3-5) and run 2's low bits (6-7), B runs 3, 4
// and 5's low bits, C runs 6, 7 and the high bits of runs 2 (bit 6) and 5
// (bit 7); element 32m + 4k + i. 3 bits per value, as in the file. A run
// takes 1-5 ops to unpack. Four steps of a run share a scale group (2m +
// k / 4): 7-bit products sum in int16, one madd applies the scale.
// Meta: 8 F16 d, 16 x 8 int8 scales (group major), 16 bytes of padding.
struct Q3_KLayout : Avx2Rows {
  using Block = BlockQ3_K;
  using Act = ActK<16>;
  static constexpr size_t kBlock = QK_K, kQuant = 8 * 3 * 32, kMeta = 16 + 128 + 16;
  static constexpr bool kInlineMeta = true;
  static constexpr int kTile = 4;
  static constexpr size_t kDecodeGroups = 1;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_k_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) {
      const BlockQ3_K& q = *rows[r];
      std::memcpy(meta + 2 * r, &q.d, 2);
      int8_t sc[16];
      unpack_q3_scales(q.scales, sc);
      for (int g = 0; g < 16; ++g) std::memcpy(meta + 16 + 8 * g + r, &sc[g], 1);
      const auto v = [&](int e) {  // q + 4 of element e
        const int low = (q.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        return low | ((q.hmask[e % 32] >> (e / 32)) & 1) << 2;
      };
      for (int k = 0; k < 8; ++k)
        for (int i = 0; i < 4; ++i) {
          int u[8];
          for (int m = 0; m < 8; ++m) u[m] = v(32 * m + 4 * k + i);
          std::byte* at = dst + 96 * k + 4 * r + size_t(i);
          at[0] = std::byte(uint8_t(u[0] | u[1] << 3 | (u[2] & 3) << 6));
          at[32] = std::byte(uint8_t(u[3] | u[4] << 3 | (u[5] & 3) << 6));
          at[64] = std::byte(uint8_t(u[6] | u[7] << 3 | (u[2] >> 2) << 6 | (u[5] >> 2) << 7));
        }
    }
  }
  // Run m of step k's vectors: each row's four values, 0..7.
  [[gnu::always_inline]] static __m256i run(const std::byte* v, int m) {
    const __m256i m7 = _mm256_set1_epi8(7), m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    const auto part = [&](int vec, int shift, __m256i mask) {  // 16-bit shifts: masks drop the carried bits
      const __m256i x = load(v + 32 * vec);
      return _mm256_and_si256(shift ? _mm256_srli_epi16(x, shift) : x, mask);
    };
    switch (m) {
      case 2: return _mm256_or_si256(part(0, 6, m3), part(2, 4, m4));
      case 5: return _mm256_or_si256(part(1, 6, m3), part(2, 5, m4));
      default: return part(m / 3, m % 3 == 1 ? 3 : 0, m7);
    }
  }
  template <int J>
  [[gnu::always_inline]] static void block(const std::byte* grp, size_t nb, size_t b, const std::byte* a, size_t ab,
                                           __m256 (&fa)[J]) {
    const std::byte* blk = quant_at<Q3_KLayout>(grp, nb, b);
    const std::byte* meta = meta_at<Q3_KLayout>(grp, nb, b);
    const int8_t* sc = reinterpret_cast<const int8_t*>(meta + 16);
    __m256i isum[J];
    for (int j = 0; j < J; ++j) isum[j] = _mm256_setzero_si256();
    for (int kq = 0; kq < 2; ++kq)
#pragma GCC unroll 8
      for (int m = 0; m < 8; ++m) {
        __m256i s16[J];
        for (int j = 0; j < J; ++j) s16[j] = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int k = 4 * kq; k < 4 * kq + 4; ++k) {
          const __m256i q = run(blk + 96 * k, m);
          for (int j = 0; j < J; ++j)
            s16[j] = pinned(_mm256_add_epi16(
                s16[j], _mm256_maddubs_epi16(q, bcast4(act_block<Act>(a, ab, j, b).qs + 32 * m + 4 * k))));
        }
        const __m256i ysc = scales16<true>(sc + 8 * (2 * m + kq));
        for (int j = 0; j < J; ++j) isum[j] = _mm256_add_epi32(isum[j], _mm256_madd_epi16(s16[j], ysc));
      }
    sub_group_offsets<2>(sc, a, ab, b, isum);  // the -4 storage offset
    const __m256 d = scales8(meta);
    for (int j = 0; j < J; ++j)
      fa[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]),
                              _mm256_mul_ps(d, _mm256_set1_ps(act_block<Act>(a, ab, j, b).d)), fa[j]);
  }
};

// ---- Q6_K keeps its 6 bits, rearranged so that decode unpacks them in a
// few ops: for each half h and k (elements l = 4k..4k+3 of the half's four
// 32-element runs m), three vectors A, B, C of 4 bytes per row. Byte i of
// vector m < 3 holds run m's value 0..63 in bits 0-5 and two bits of run 3's
// value in bits 6-7 (A: bits 0-1, B: 2-3, C: 4-5). Runs 0-2 take one AND,
// run 3 three ANDNOTs, three shifts and two ORs: 11 ops per four runs where
// ggml's ql / qh split took 17, which bounded one core's decode (Q6_K read
// ~20 GB/s from cache, under the memory roofline share asked in #15).
// Values 0..63: two maddubs results still fit int16, then one madd applies
// the group scale (duplicated into both int16 halves).
// Meta: 8 F16 d, 16 x 8 int8 scales (group major), 16 bytes of padding.
struct Q6_KLayout : Avx2Rows {
  using Block = BlockQ6_K;
  using Act = ActK<16>;
  // meta padded to 160 bytes so every block (quants + meta) starts 32-byte aligned
  static constexpr size_t kBlock = QK_K, kQuant = 16 * 3 * 32, kMeta = 16 + 128 + 16;
  static constexpr bool kInlineMeta = true;
  static constexpr int kTile = 4;
  static constexpr size_t kDecodeGroups = 1;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_k_blocks(x, o, nb); }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    int8_t q[QK_K];
    for (size_t r = 0; r < kRows; ++r) {
      std::memcpy(meta + 2 * r, &rows[r]->d, 2);
      for (int g = 0; g < 16; ++g) std::memcpy(meta + 16 + 8 * g + r, &rows[r]->scales[g], 1);
      unpack_q6(*rows[r], q);
      for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 8; ++k)
          for (int i = 0; i < 4; ++i) {
            const int e = 128 * h + 4 * k + i, v3 = q[e + 96] + 32;
            for (int m = 0; m < 3; ++m)
              dst[96 * (8 * h + k) + 32 * m + 4 * r + size_t(i)] =
                  std::byte(uint8_t((q[e + 32 * m] + 32) | (((v3 >> (2 * m)) & 3) << 6)));
          }
    }
  }
  // Run m of one vector triple: each row's four 6-bit values, 0..63.
  [[gnu::always_inline]] static __m256i run(const std::byte* v, int m, __m256i m3f) {
    if (m < 3) return _mm256_and_si256(load(v + 32 * m), m3f);
    // bits 6-7 masked first, so the 16-bit shifts carry nothing across bytes
    const auto top = [&](int i, int shift) { return _mm256_srli_epi16(_mm256_andnot_si256(m3f, load(v + 32 * i)), shift); };
    return _mm256_or_si256(_mm256_or_si256(top(0, 6), top(1, 4)), top(2, 2));
  }
  template <int J>
  [[gnu::always_inline]] static void block(const std::byte* grp, size_t nb, size_t b, const std::byte* a, size_t ab,
                                           __m256 (&fa)[J]) {
    const __m256i m3f = _mm256_set1_epi8(0x3F);
    const std::byte* blk = quant_at<Q6_KLayout>(grp, nb, b);
    const std::byte* meta = meta_at<Q6_KLayout>(grp, nb, b);
    const int8_t* sc = reinterpret_cast<const int8_t*>(meta + 16);
    __m256i isum[J];
    for (int j = 0; j < J; ++j) isum[j] = _mm256_setzero_si256();
    // k = 4kq .. 4kq + 3 share run m's scale group 8h + 2m + kq; runs of k
    // and k + 1 are summed in int16, then one madd with the scale widens both
    for (int h = 0; h < 2; ++h)
      for (int kq = 0; kq < 2; ++kq) {
        __m256i ysc[4];
        for (int m = 0; m < 4; ++m) ysc[m] = scales16<true>(sc + 8 * (8 * h + 2 * m + kq));
#pragma GCC unroll 2
        for (int k = 4 * kq; k < 4 * kq + 4; k += 2) {
          const std::byte* v = blk + 96 * (8 * h + k);
#pragma GCC unroll 4
          for (int m = 0; m < 4; ++m) {
            const __m256i q0 = run(v, m, m3f), q1 = run(v + 96, m, m3f);
            for (int j = 0; j < J; ++j) {
              const int8_t* q = act_block<Act>(a, ab, j, b).qs + 128 * h + 32 * m + 4 * k;
              const __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(q0, bcast4(q)),
                                                 _mm256_maddubs_epi16(q1, bcast4(q + 4)));
              isum[j] = pinned(_mm256_add_epi32(isum[j], _mm256_madd_epi16(t, ysc[m])));
            }
          }
        }
      }
    sub_group_offsets<5>(sc, a, ab, b, isum);  // the -32 storage offset
    const __m256 d = scales8(meta);
    for (int j = 0; j < J; ++j)
      fa[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]),
                              _mm256_mul_ps(d, _mm256_set1_ps(act_block<Act>(a, ab, j, b).d)), fa[j]);
  }
};

}  // namespace

std::unique_ptr<PackedMatrix> pack_matrix_avx2(TypeId type, const void* w, size_t n_out, size_t n_in,
                                               ThreadPool* pool) {
  if (!cpu_has_avx2_fma()) return nullptr;
  switch (type) {
    case TypeId::Q8_0: return make<Q8_0Layout>(w, n_out, n_in, pool);
    case TypeId::Q4_0: return make<Q4_0Layout>(w, n_out, n_in, pool);
    case TypeId::Q4_1: return make<Q4_1Layout>(w, n_out, n_in, pool);
    case TypeId::Q5_0: return make<Q5_0Layout>(w, n_out, n_in, pool);
    case TypeId::Q5_1: return make<Q5_1Layout>(w, n_out, n_in, pool);
    case TypeId::Q3_K: return make<Q3_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q4_K: return make<Q4_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q5_K: return make<Q5_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q6_K: return make<Q6_KLayout>(w, n_out, n_in, pool);
    default: return pack_float_avx2(type, w, n_out, n_in, pool);
  }
}

}  // namespace tessel::ggml

#else  // not x86-64

namespace tessel::ggml {
std::unique_ptr<PackedMatrix> pack_matrix_avx2(TypeId, const void*, size_t, size_t, ThreadPool*) {
  return nullptr;
}
}  // namespace tessel::ggml

#endif
