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
#include "packed_avx2_common.hpp"

namespace tessel::ggml {
namespace {

// ---- Q8_0: 8 vectors: vector k holds qs[4k..4k+3] of each row, signed;
// maddubs takes |w| and the activation with w's sign. A pair of products
// can reach 2 * 127 * 127, so each maddubs result is widened at once.
struct Q8_0Layout : Avx2Rows {
  using Block = BlockQ8_0;
  using Act = ActQ8;
  static constexpr size_t kBlock = QK, kQuant = 8 * 32, kMeta = 16;
  static constexpr int kTile = 4;
  static constexpr size_t kDecodeStreams = 4;
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
  // three decode streams: Q4_0 +3-20 % at -t 1 over two (7 of 7 paired
  // rounds), Q4_1 and Q5_0 even (docs/decisions.md)
  static constexpr size_t kDecodeStreams = 3;
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
    case TypeId::Q2_K:
    case TypeId::Q3_K:
    case TypeId::Q4_K:
    case TypeId::Q5_K:
    case TypeId::Q6_K: return pack_kquant_avx2(type, w, n_out, n_in, pool);
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
