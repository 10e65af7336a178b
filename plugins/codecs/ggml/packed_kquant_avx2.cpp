// The K-quants' AVX2 packed layouts (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K); the idea and the
// shared pieces are in packed_avx2.cpp and packed_avx2_common.hpp.
#include "packed.hpp"

#if defined(__x86_64__)
#include "packed_avx2_common.hpp"

namespace tessel::ggml {
namespace {

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
  static constexpr size_t kDecodeStreams = 2;
  static constexpr bool kPrefetchInBlock = true;
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
      if constexpr (J <= 2) prefetch_part<KQuantLayout, 4>(blk, c);
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

// out = sum over the 16 groups of (row scale x activation 16-sum), for the
// unsigned storage offsets of Q3_K (4) and Q6_K (32) and Q2_K's mins. sc:
// 16 groups x 8 rows of int8 (group major).
// kHigh: the values are the high nibbles of sc's bytes (Q2_K's mins).
template <bool kHigh = false, int J>
[[gnu::always_inline]] inline void group_sums(const int8_t* sc, const std::byte* a, size_t ab, size_t b,
                                              __m256i (&out)[J]) {
  for (int j = 0; j < J; ++j) out[j] = _mm256_setzero_si256();
  for (int t = 0; t < 8; ++t) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 16 * t));
    if constexpr (kHigh) x = _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(0x0F));
    const __m256i pair_sc = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x, _mm_srli_si128(x, 8)));
    for (int j = 0; j < J; ++j) {
      int32_t sums;
      std::memcpy(&sums, act_block<ActK<16>>(a, ab, j, b).sum + 2 * t, 4);
      out[j] = _mm256_add_epi32(out[j], _mm256_madd_epi16(pair_sc, _mm256_set1_epi32(sums)));
    }
  }
}
template <int kShift, int J>
[[gnu::always_inline]] inline void sub_group_offsets(const int8_t* sc, const std::byte* a, size_t ab, size_t b,
                                                     __m256i (&isum)[J]) {
  __m256i corr[J];
  group_sums(sc, a, ab, b, corr);
  for (int j = 0; j < J; ++j) isum[j] = _mm256_sub_epi32(isum[j], _mm256_slli_epi32(corr[j], kShift));
}

// What Q2_K, Q3_K and Q6_K share: 256-element blocks against Q8_K
// activations with sums per 16, scales inline, tiles of 4, two decode streams.
struct Groups16 : Avx2Rows {
  using Act = ActK<16>;
  static constexpr size_t kBlock = QK_K;
  static constexpr bool kInlineMeta = true;
  static constexpr int kTile = 4;
  static constexpr size_t kDecodeStreams = 2;
  static constexpr bool kPrefetchInBlock = true;
  static void quantize(const float* x, Act* o, size_t nb) { quantize_k_blocks(x, o, nb); }
};

// The product loop of Q2_K and Q3_K: eight 32-element runs m of 8 steps k;
// the four steps of a run in one half (kq) share the scale group 2m + kq, so
// their products sum in int16 and one madd applies that group's scales.
// run(k, m): step k's values of run m; scales(g): group g's scales, each in
// both int16 halves of its row's lane.
template <class L, int J, class Run, class Scales>
[[gnu::always_inline]] inline void scaled_runs(const std::byte* blk, const std::byte* a, size_t ab, size_t b, Run run,
                                               Scales scales, __m256i (&isum)[J]) {
  for (int j = 0; j < J; ++j) isum[j] = _mm256_setzero_si256();
  for (int kq = 0; kq < 2; ++kq)
#pragma GCC unroll 8
    for (int m = 0; m < 8; ++m) {
      if constexpr (J <= 2) prefetch_part<L, 16>(blk, 8 * kq + m);
      __m256i s16[J];
      for (int j = 0; j < J; ++j) s16[j] = _mm256_setzero_si256();
      // a constant trip count: with k from 4 kq, GCC kept the loop rolled
      // and moved every int16 sum through the stack each step
#pragma GCC unroll 4
      for (int kk = 0; kk < 4; ++kk) {
        const int k = 4 * kq + kk;
        const __m256i q = run(k, m);
        for (int j = 0; j < J; ++j)
          s16[j] = pinned(_mm256_add_epi16(
              s16[j], _mm256_maddubs_epi16(q, bcast4(act_block<ActK<16>>(a, ab, j, b).qs + 32 * m + 4 * k))));
      }
      const __m256i ysc = scales(2 * m + kq);
      for (int j = 0; j < J; ++j) isum[j] = _mm256_add_epi32(isum[j], _mm256_madd_epi16(s16[j], ysc));
    }
}

// ---- Q2_K: values 0..3 of eight 32-element runs m in two vectors per step
// k: byte i of a row's lane in A holds runs 0-3 at bits 2m, B runs 4-7;
// element 32m + 4k + i, 2 bits per value as in the file. Four steps of a run
// share a group (2m + k / 4) and its 4-bit scale: int16 sums, one madd.
// Meta: 8 F16 d, 8 F16 dmin, 16 x 8 bytes of scale (low nibble) and min
// (high), group major: the file's bytes, so the copy is no larger than the file.
struct Q2_KLayout : Groups16 {
  using Block = BlockQ2_K;
  static constexpr size_t kQuant = 8 * 2 * 32, kMeta = 32 + 128;
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) {
      const BlockQ2_K& q = *rows[r];
      std::memcpy(meta + 2 * r, &q.d, 2);
      std::memcpy(meta + 16 + 2 * r, &q.dmin, 2);
      for (int g = 0; g < 16; ++g) meta[32 + 8 * g + r] = std::byte(q.scales[g]);
      // the file's byte qs[32h + 4k + i] holds elements 128h + 32j + 4k + i
      // at bits 2j: exactly the packed byte of runs 4h + j, so bytes move whole
      for (int k = 0; k < 8; ++k)
        for (int half = 0; half < 2; ++half) std::memcpy(dst + 64 * k + 32 * half + 4 * r, q.qs + 32 * half + 4 * k, 4);
    }
  }
  template <int J>
  [[gnu::always_inline]] static void block(const std::byte* grp, size_t nb, size_t b, const std::byte* a, size_t ab,
                                           __m256 (&fa)[J]) {
    const __m256i m3 = _mm256_set1_epi8(3);
    const std::byte* blk = quant_at<Q2_KLayout>(grp, nb, b);
    const std::byte* meta = meta_at<Q2_KLayout>(grp, nb, b);
    const uint8_t* sc = reinterpret_cast<const uint8_t*>(meta + 32);
    __m256i isum[J];
    scaled_runs<Q2_KLayout>(
        blk, a, ab, b,
        [&](int k, int m) {
          const __m256i v = load(blk + 64 * k + 32 * (m / 4));
          return _mm256_and_si256(m % 4 ? _mm256_srli_epi16(v, 2 * (m % 4)) : v, m3);
        },
        [&](int g) { return _mm256_and_si256(scales16(sc + 8 * g), _mm256_set1_epi16(0x0F)); }, isum);
    __m256i msum[J];
    group_sums<true>(reinterpret_cast<const int8_t*>(sc), a, ab, b, msum);
    const __m256 d = scales8(meta), dmin = scales8(meta + 16);
    for (int j = 0; j < J; ++j) {
      const __m256 ad = _mm256_set1_ps(act_block<Act>(a, ab, j, b).d);
      fa[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_mul_ps(d, ad), fa[j]);
      fa[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum[j]), _mm256_mul_ps(dmin, ad), fa[j]);
    }
  }
};

// ---- Q3_K: values q + 4 (0..7, low two bits and hmask's bit) of eight
// 32-element runs m share three vectors per k: byte i of a row's lane in A
// holds runs 0, 1 (bits 0-2, 3-5) and run 2's low bits (6-7), B runs 3, 4
// and 5's low bits, C runs 6, 7 and the high bits of runs 2 (bit 6) and 5
// (bit 7); element 32m + 4k + i. 3 bits per value, as in the file. A run
// takes 1-5 ops to unpack. Four steps of a run share a scale group (2m +
// k / 4): 7-bit products sum in int16, one madd applies the scale.
// Meta: 8 F16 d, 16 x 8 int8 scales (group major), 16 bytes of padding.
struct Q3_KLayout : Groups16 {
  using Block = BlockQ3_K;
  static constexpr size_t kQuant = 8 * 3 * 32, kMeta = 16 + 128 + 16;
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte* meta) {
    for (size_t r = 0; r < kRows; ++r) {
      const BlockQ3_K& q = *rows[r];
      std::memcpy(meta + 2 * r, &q.d, 2);
      int8_t sc[16];
      unpack_q3_scales(q.scales, sc);
      for (int g = 0; g < 16; ++g) std::memcpy(meta + 16 + 8 * g + r, &sc[g], 1);
      uint8_t v[QK_K];  // q + 4 of element 128h + 32j + l, one pass over the file's bytes
      for (int h = 0; h < 2; ++h)
        for (int j = 0; j < 4; ++j)
          for (int l = 0; l < 32; ++l)
            v[128 * h + 32 * j + l] =
                uint8_t(((q.qs[32 * h + l] >> (2 * j)) & 3) | ((q.hmask[l] >> (4 * h + j)) & 1) << 2);
      for (int k = 0; k < 8; ++k)
        for (int i = 0; i < 4; ++i) {
          int u[8];
          for (int m = 0; m < 8; ++m) u[m] = v[32 * m + 4 * k + i];
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
    scaled_runs<Q3_KLayout>(
        blk, a, ab, b, [&](int k, int m) { return run(blk + 96 * k, m); },
        [&](int g) { return scales16<true>(sc + 8 * g); }, isum);
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
struct Q6_KLayout : Groups16 {
  using Block = BlockQ6_K;
  // meta padded to 160 bytes so every block (quants + meta) starts 32-byte aligned
  static constexpr size_t kQuant = 16 * 3 * 32, kMeta = 16 + 128 + 16;
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
        if constexpr (J <= 2) prefetch_part<Q6_KLayout, 4>(blk, 2 * h + kq);
        __m256i ysc[4];
        for (int m = 0; m < 4; ++m) ysc[m] = scales16<true>(sc + 8 * (8 * h + 2 * m + kq));
#pragma GCC unroll 2
        for (int kk = 0; kk < 4; kk += 2) {  // a constant trip count, as in Q2_K
          const int k = 4 * kq + kk;
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

std::unique_ptr<PackedMatrix> pack_kquant_avx2(TypeId type, const void* w, size_t n_out, size_t n_in,
                                               ThreadPool* pool) {
  if (!cpu_has_avx2_fma()) return nullptr;
  switch (type) {
    case TypeId::Q2_K: return make<Q2_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q3_K: return make<Q3_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q4_K: return make<Q4_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q5_K: return make<Q5_KLayout>(w, n_out, n_in, pool);
    case TypeId::Q6_K: return make<Q6_KLayout>(w, n_out, n_in, pool);
    default: return nullptr;
  }
}

}  // namespace tessel::ggml

#else  // not x86-64

namespace tessel::ggml {
std::unique_ptr<PackedMatrix> pack_kquant_avx2(TypeId, const void*, size_t, size_t, ThreadPool*) { return nullptr; }
}  // namespace tessel::ggml

#endif
