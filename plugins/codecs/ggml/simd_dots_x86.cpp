// x86 SIMD dots (see simd_dots.hpp). Every kernel is written once for 256-bit
// vectors and templated on the int8 product: AVX512-VNNI's vpdpbusd when the
// compiler targets it, AVX2's maddubs + madd otherwise (both take unsigned x
// signed bytes, so signed weights go through |w| and sign(a, w)). On Zen 4
// 512-bit ops run as two 256-bit halves, so ymm loses no throughput here.
// Kernels handle R = 1..4 activation rows per call so a weight block is
// loaded and unpacked once for R rows (prompt processing).
#include "simd_dots.hpp"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "blocks.hpp"

namespace tessel::ggml {
namespace {

// Sum of u8 * s8 over each group of 4 bytes, as 8 int32. Callers keep
// |u * s| pair sums within int16 (|w| <= 128, |a| <= 127) for the AVX2 path.
struct Avx2Mul {
  static __m256i dot(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
};
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
struct VnniMul {
  static __m256i dot(__m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
  }
};
#endif

inline float hsum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}
inline int hsum(__m256i v) {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
  return _mm_cvtsi128_si32(x);
}
inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline float half(uint16_t h) { return _cvtsh_ss(h); }  // exact, as fp16_to_fp32

template <class B> const B& row_block(const void* a, size_t stride, int r, size_t i) {
  return reinterpret_cast<const B*>(static_cast<const std::byte*>(a) + size_t(r) * stride)[i];
}

// ---- Q8_0 and Q4_0 weights x Q8_0 activations: both are 32 signed values
// per block, so only the unpacking differs.
template <class M, int R, class Unpack>
void q32_rows(const void* w, const void* a, size_t stride, size_t nb, float* out, size_t ostride,
              Unpack unpack) {
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (size_t i = 0; i < nb; ++i) {
    float dx;
    const __m256i q = unpack(w, i, dx);
    const __m256i aq = _mm256_sign_epi8(q, q);
    for (int r = 0; r < R; ++r) {
      const BlockQ8_0& y = row_block<BlockQ8_0>(a, stride, r, i);
      const __m256i p = M::dot(aq, _mm256_sign_epi8(load(y.qs), q));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dx * half(y.d)), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r * ostride] = hsum(acc[r]);
}

template <class M> struct Q8_0K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    q32_rows<M, R>(w, a, stride, n / QK, out, os, [](const void* p, size_t i, float& d) {
      const BlockQ8_0& b = static_cast<const BlockQ8_0*>(p)[i];
      d = half(b.d);
      return load(b.qs);
    });
  }
};

template <class M> struct Q4_0K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    q32_rows<M, R>(w, a, stride, n / QK, out, os, [](const void* p, size_t i, float& d) {
      const BlockQ4_0& b = static_cast<const BlockQ4_0*>(p)[i];
      d = half(b.d);
      // low nibbles are elements 0..15, high nibbles 16..31; stored +8
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
      const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw),
                                         _mm256_set1_epi8(0x0F));
      return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
    });
  }
};

// ---- Q4_K x Q8_K: 8 groups of 32 unsigned 4-bit values with 6-bit scales
// and mins; x = d*sc*q - dmin*m, and sum(a) per 16 comes from bsums.
template <class M> struct Q4_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    const BlockQ4_K* x = static_cast<const BlockQ4_K*>(w);
    __m256 acc[R], accm[R];
    for (int r = 0; r < R; ++r) acc[r] = accm[r] = _mm256_setzero_ps();
    const __m256i lo = _mm256_set1_epi8(0x0F);
    for (size_t i = 0; i < n / QK_K; ++i) {
      __m256i q[8];
      for (int c = 0; c < 4; ++c) {
        const __m256i raw = load(x[i].qs + 32 * c);
        q[2 * c] = _mm256_and_si256(raw, lo);
        q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo);
      }
      uint8_t sc[8], mn[8];
      for (int j = 0; j < 8; ++j) scale_min_k4(j, x[i].scales, sc[j], mn[j]);
      __m256i scv[8];
      for (int j = 0; j < 8; ++j) scv[j] = _mm256_set1_epi32(sc[j]);
      // mins paired with bsums (two 16-sums per group of 32)
      const __m256i mins16 = _mm256_setr_epi16(mn[0], mn[0], mn[1], mn[1], mn[2], mn[2], mn[3], mn[3],
                                               mn[4], mn[4], mn[5], mn[5], mn[6], mn[6], mn[7], mn[7]);
      const float d = half(x[i].d), dmin = half(x[i].dmin);
      for (int r = 0; r < R; ++r) {
        const BlockQ8_K& y = row_block<BlockQ8_K>(a, stride, r, i);
        __m256i isum = _mm256_setzero_si256();
        for (int j = 0; j < 8; ++j)
          isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(M::dot(q[j], load(y.qs + 32 * j)), scv[j]));
        const __m256i ms = _mm256_madd_epi16(load(y.bsums), mins16);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(y.d * d), acc[r]);
        accm[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ms), _mm256_set1_ps(y.d * dmin), accm[r]);
      }
    }
    for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]) - hsum(accm[r]);
  }
};

// ---- Q6_K x Q8_K: 16 groups of 16 values 0..63 (stored +32) with int8
// scales; sum(sc * (q - 32) * a) = sum(sc * q * a) - 32 * sum(sc * bsum).
template <class M> struct Q6_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    const BlockQ6_K* x = static_cast<const BlockQ6_K*>(w);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    const __m256i lo = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    for (size_t i = 0; i < n / QK_K; ++i) {
      __m256i q[8];
      for (int h = 0; h < 2; ++h) {
        const __m256i ql0 = load(x[i].ql + 64 * h), ql1 = load(x[i].ql + 64 * h + 32);
        const __m256i qh = load(x[i].qh + 32 * h);
        auto hi = [&](int shift) {
          return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), m3), 4);
        };
        q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(ql0, lo), hi(0));
        q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, lo), hi(2));
        q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), lo), hi(4));
        q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), lo), hi(6));
      }
      const int8_t* s = x[i].scales;
      __m256i scv[8];  // lanes 0-3: group 2k, lanes 4-7: group 2k+1
      for (int k = 0; k < 8; ++k)
        scv[k] = _mm256_set_m128i(_mm_set1_epi32(s[2 * k + 1]), _mm_set1_epi32(s[2 * k]));
      const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
      const float d = half(x[i].d);
      for (int r = 0; r < R; ++r) {
        const BlockQ8_K& y = row_block<BlockQ8_K>(a, stride, r, i);
        __m256i isum = _mm256_setzero_si256();
        for (int k = 0; k < 8; ++k)
          isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(M::dot(q[k], load(y.qs + 32 * k)), scv[k]));
        const __m256i bias = _mm256_madd_epi16(load(y.bsums), sc16);
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(bias, 5));
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d * y.d), acc[r]);
      }
    }
    for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]);
  }
};

// ---- F16 x F16 (float accumulation in 8 lanes x 2)
struct F16K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    const uint16_t* x = static_cast<const uint16_t*>(w);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
      for (int r = 0; r < R; ++r) {
        const uint16_t* y = reinterpret_cast<const uint16_t*>(static_cast<const std::byte*>(a) + r * stride);
        const __m256 yv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y + i)));
        acc[r] = _mm256_fmadd_ps(xv, yv, acc[r]);
      }
    }
    for (int r = 0; r < R; ++r) {
      const uint16_t* y = reinterpret_cast<const uint16_t*>(static_cast<const std::byte*>(a) + r * stride);
      float s = hsum(acc[r]);
      for (size_t j = i; j < n; ++j) s += half(x[j]) * half(y[j]);
      out[r * os] = s;
    }
  }
};

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
template <class K> SimdDot entry(TypeId t) { return {t, dot1<K>, rows<K>}; }

template <class M> std::vector<SimdDot> table() {
  return {entry<Q8_0K<M>>(TypeId::Q8_0), entry<Q4_0K<M>>(TypeId::Q4_0),
          entry<Q4_KK<M>>(TypeId::Q4_K), entry<Q6_KK<M>>(TypeId::Q6_K),
          entry<F16K>(TypeId::F16)};
}

}  // namespace

std::vector<SimdDot> simd_dots(SimdIsa isa) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  if (isa == SimdIsa::best || isa == SimdIsa::vnni) return table<VnniMul>();
#else
  if (isa == SimdIsa::vnni) return {};
  if (isa == SimdIsa::best) return table<Avx2Mul>();
#endif
  return table<Avx2Mul>();
}

}  // namespace tessel::ggml

#else  // no AVX2: the scalar codecs are used as they are

namespace tessel::ggml {
std::vector<SimdDot> simd_dots(SimdIsa) { return {}; }
}  // namespace tessel::ggml

#endif
