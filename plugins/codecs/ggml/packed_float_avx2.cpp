// F32, F16 and BF16 weights, packed for AVX2 + FMA (see packed.hpp). The row dots
// (simd_dots_float.hpp) convert an F16 activation for every product: ten
// conversions per eight FMAs held prompt batches at ~65 % of the FMA units
// and pp512 at 0.75x llama.cpp. Here 16 weight rows are interleaved by
// element, so two 16-byte loads and conversions give element k of 16 rows,
// and the activations are widened to float once (after ggml's rounding to
// the weight type, so every product is the one ggml's F16 / BF16 dot forms).
// A tile is an outer product, 16 rows x 6 activation rows: per element two
// conversions, six broadcasts and twelve FMAs, no horizontal sums. It ran
// at ~90 % of the FMA units' peak on 2048 x 5632 (float-gemm-bench); 8 rows
// x 12 ran at half that (a broadcast per FMA), and K slices that keep a
// group's weights in L1 lost to whole rows the prefetchers can follow.
//
// Each output is one float chain over k in order, whatever the tile: decode
// (J = 1, four groups side by side to hide the FMA latency) and every batch
// give the same bits.
#include "packed.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

#include "packed_common.hpp"

namespace tessel::ggml {
namespace {

inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 16 rows per group, as two vectors of 8 row sums.
struct Rows16 {
  static constexpr size_t kRows = 16;
  static constexpr bool kInlineMeta = true;  // there is no meta: one stream
  using Mask = size_t;
  struct Acc {
    __m256 lo, hi;
  };
  static Mask mask(size_t valid) { return valid; }
  static Acc zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static void store(float* y, Acc v, size_t valid) {
    if (valid == kRows) {
      _mm256_storeu_ps(y, v.lo);
      _mm256_storeu_ps(y + 8, v.hi);
      return;
    }
    alignas(32) float t[16];
    _mm256_store_ps(t, v.lo);
    _mm256_store_ps(t + 8, v.hi);
    std::copy(t, t + valid, y);
  }
};

// The weight formats: 8 values to floats (exact), and 8 floats rounded as
// ggml rounds activations to that type (its dot_type), widened back.
struct F32Format {
  using T = float;
  static __m256 widen(const void* p) { return _mm256_loadu_ps(static_cast<const float*>(p)); }
  static __m256 round(__m256 x) { return x; }
};
struct F16Format {
  using T = uint16_t;
  static __m256 widen(const void* p) { return _mm256_cvtph_ps(load128(p)); }
  static __m256 round(__m256 x) { return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
};
struct BF16Format {
  using T = uint16_t;
  static __m256 widen(const void* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
  }
  // fp32_to_bf16 (half.hpp): nearest even, NaN kept quiet
  static __m256 round(__m256 x) {
    const __m256i u = _mm256_castps_si256(x);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF)));
    const __m256i quiet = _mm256_or_si256(u, _mm256_set1_epi32(0x400000));
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    const __m256i bits = _mm256_blendv_epi8(rounded, quiet, nan);
    return _mm256_castsi256_ps(_mm256_and_si256(bits, _mm256_set1_epi32(int(0xFFFF0000u))));
  }
};

// 8 x 8 transposes (element-wise copies took a fifth of an F16 model's
// load): src[i] points at 8 values of row i; dst + k * stride receives
// element k of the 8 rows.
inline void transpose8x8(const uint16_t* const* src, std::byte* dst, size_t stride) {
  __m128i t[8], u[8];
  for (int i = 0; i < 8; ++i) t[i] = load128(src[i]);
  for (int i = 0; i < 4; ++i) {  // pairs of rows, element by element
    u[i] = _mm_unpacklo_epi16(t[2 * i], t[2 * i + 1]);
    u[4 + i] = _mm_unpackhi_epi16(t[2 * i], t[2 * i + 1]);
  }
  // t[4h + 2i + p]: rows 4i..4i+3, elements 4h + 2p and 4h + 2p + 1
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 2; ++i) {
      t[4 * h + 2 * i] = _mm_unpacklo_epi32(u[4 * h + 2 * i], u[4 * h + 2 * i + 1]);
      t[4 * h + 2 * i + 1] = _mm_unpackhi_epi32(u[4 * h + 2 * i], u[4 * h + 2 * i + 1]);
    }
  for (int h = 0; h < 2; ++h)
    for (int p = 0; p < 2; ++p) {
      const __m128i lo = t[4 * h + p], hi = t[4 * h + 2 + p];
      const int k = 4 * h + 2 * p;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + stride * size_t(k)), _mm_unpacklo_epi64(lo, hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + stride * size_t(k + 1)), _mm_unpackhi_epi64(lo, hi));
    }
}
inline void transpose8x8(const float* const* src, std::byte* dst, size_t stride) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {  // pairs of rows: elements 0,1 | 4,5 and 2,3 | 6,7
    t[2 * i] = _mm256_unpacklo_ps(_mm256_loadu_ps(src[2 * i]), _mm256_loadu_ps(src[2 * i + 1]));
    t[2 * i + 1] = _mm256_unpackhi_ps(_mm256_loadu_ps(src[2 * i]), _mm256_loadu_ps(src[2 * i + 1]));
  }
  for (int q = 0; q < 2; ++q)  // quads of rows: s[4q + e] holds elements e | e + 4
    for (int p = 0; p < 2; ++p) {
      s[4 * q + 2 * p] = _mm256_shuffle_ps(t[4 * q + p], t[4 * q + 2 + p], 0x44);
      s[4 * q + 2 * p + 1] = _mm256_shuffle_ps(t[4 * q + p], t[4 * q + 2 + p], 0xEE);
    }
  for (int e = 0; e < 4; ++e) {
    _mm256_storeu_ps(reinterpret_cast<float*>(dst + stride * size_t(e)), _mm256_permute2f128_ps(s[e], s[4 + e], 0x20));
    _mm256_storeu_ps(reinterpret_cast<float*>(dst + stride * size_t(e + 4)), _mm256_permute2f128_ps(s[e], s[4 + e], 0x31));
  }
}

// Block b of a group: element 32b + k of the 16 rows at row r's place in
// step k. 32 elements per block: 8 ran ~15 % slower (the driver's
// per-block work), 64 no faster than 32.
template <class F>
struct FloatLayout : Rows16 {
  using T = typename F::T;
  static constexpr int kK = 32;
  static constexpr size_t kStep = 16 * sizeof(T);  // one element of 16 rows
  struct Block {
    T v[kK];
  };
  struct Act {
    float x[kK];
  };
  static constexpr size_t kBlock = kK, kQuant = kK * kStep, kMeta = 0;
  // 16 x 6 outputs are 12 accumulators, beside two weight vectors and a broadcast
  static constexpr int kTile = 6;
  static constexpr size_t kDecodeStreams = 4;
  static void quantize(const float* x, Act* o, size_t nb) {
    for (size_t b = 0; b < nb; ++b)
      for (int i = 0; i < kK; i += 8) _mm256_storeu_ps(o[b].x + i, F::round(_mm256_loadu_ps(x + kK * b + i)));
  }
  static void pack_block(const Block* const* rows, std::byte* dst, std::byte*) {
    for (size_t r0 = 0; r0 < kRows; r0 += 8)
      for (int c = 0; c < kK; c += 8) {
        const T* src[8];
        for (int i = 0; i < 8; ++i) src[i] = rows[r0 + i]->v + c;
        transpose8x8(src, dst + kStep * size_t(c) + sizeof(T) * size_t(r0), kStep);
      }
  }
  template <int J>
  [[gnu::always_inline]] static void block(const std::byte* grp, size_t nb, size_t b, const std::byte* a, size_t ab,
                                           Acc (&fa)[J]) {
    const std::byte* blk = quant_at<FloatLayout>(grp, nb, b);
    const float* x[J];
    // the sums in locals: updated in place through fa, GCC stored all of
    // them to the stack after every FMA (half the tile's speed)
    __m256 lo[J], hi[J];
    for (int j = 0; j < J; ++j) {
      x[j] = act_block<Act>(a, ab, j, b).x;
      lo[j] = fa[j].lo;
      hi[j] = fa[j].hi;
    }
#pragma GCC unroll 32
    for (int k = 0; k < kK; ++k) {
      const __m256 w0 = F::widen(blk + kStep * k), w1 = F::widen(blk + kStep * k + 8 * sizeof(T));
      for (int j = 0; j < J; ++j) {
        const __m256 v = _mm256_broadcast_ss(x[j] + k);
        lo[j] = _mm256_fmadd_ps(w0, v, lo[j]);
        hi[j] = _mm256_fmadd_ps(w1, v, hi[j]);
      }
    }
    for (int j = 0; j < J; ++j) fa[j] = {lo[j], hi[j]};
  }
};

}  // namespace

std::unique_ptr<PackedMatrix> pack_float_avx2(TypeId type, const void* w, size_t n_out, size_t n_in,
                                              ThreadPool* pool) {
  if (!cpu_has_avx2_fma()) return nullptr;
  switch (type) {
    case TypeId::F32: return make<FloatLayout<F32Format>>(w, n_out, n_in, pool);
    case TypeId::F16: return make<FloatLayout<F16Format>>(w, n_out, n_in, pool);
    case TypeId::BF16: return make<FloatLayout<BF16Format>>(w, n_out, n_in, pool);
    default: return nullptr;
  }
}

}  // namespace tessel::ggml

#else  // not x86-64

namespace tessel::ggml {
std::unique_ptr<PackedMatrix> pack_float_avx2(TypeId, const void*, size_t, size_t, ThreadPool*) { return nullptr; }
}  // namespace tessel::ggml

#endif
