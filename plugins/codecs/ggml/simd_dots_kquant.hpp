#pragma once
// The k-quants x Q8_K (see simd_dots_common.hpp for the rules). Each kernel
// unpacks a 256-element super-block into 8 vectors of 32 unsigned values in
// element order, takes the integer products with the activations, applies
// the integer group scales, and corrects for offsets and mins with the
// activation block's bsums (sums of 16 quants), all in exact int32 before
// the one float multiply per super-block and row.
#include "simd_dots_common.hpp"

namespace tessel::ggml {
namespace {

// sum over the 8 chunks of scale[c] * (products of chunk c), as 8 int32.
template <class M>
inline __m256i scaled_sum(const __m256i q[8], const int8_t* a, const __m256i scale[8]) {
  __m256i isum = _mm256_setzero_si256();
  for (int c = 0; c < 8; ++c)
    isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(M::dot(q[c], load(a + 32 * c)), scale[c]));
  return isum;
}

// Q2_K / Q3_K low bits: element 128h + 32k + l is bits 2k..2k+1 of qs[32h + l].
inline void unpack_2bit(const uint8_t* qs, __m256i q[8]) {
  const __m256i m3 = _mm256_set1_epi8(3);
  for (int h = 0; h < 2; ++h) {
    const __m256i raw = load(qs + 32 * h);
    for (int k = 0; k < 4; ++k) q[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * k), m3);
  }
}
// Q4_K / Q5_K: chunk 2c is the low nibbles of qs[32c..], chunk 2c+1 the high.
inline void unpack_4bit(const uint8_t* qs, __m256i q[8]) {
  const __m256i lo = _mm256_set1_epi8(0x0F);
  for (int c = 0; c < 4; ++c) {
    const __m256i raw = load(qs + 32 * c);
    q[2 * c] = _mm256_and_si256(raw, lo);
    q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo);
  }
}
// Bit c of each of 32 bytes (chunk c's extra bit in Q3_K's hmask and
// Q5_K's qh), moved to bit `to`.
inline __m256i bit_plane(__m256i bytes, int c, int to) {
  const __m256i b = _mm256_and_si256(_mm256_srli_epi16(bytes, c), _mm256_set1_epi8(1));
  return _mm256_slli_epi16(b, to);  // values <= 1 << to < 256: no carry between bytes
}

// ---- Q2_K: x = d*sc*q - dmin*m, 16 groups of 16, q 0..3, 4-bit sc and m.
template <class M> struct Q2_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    const BlockQ2_K* x = static_cast<const BlockQ2_K*>(w);
    __m256 acc[R], accm[R];
    for (int r = 0; r < R; ++r) acc[r] = accm[r] = _mm256_setzero_ps();
    for (size_t i = 0; i < n / QK_K; ++i) {
      __m256i q[8], scv[8];
      unpack_2bit(x[i].qs, q);
      const __m128i s = load128(x[i].scales);  // low nibble: scale, high: min
      pair_scales(_mm_and_si128(s, _mm_set1_epi8(0x0F)), scv);
      const __m256i mins16 = _mm256_srli_epi16(_mm256_cvtepu8_epi16(s), 4);
      const float d = half(x[i].d), dmin = half(x[i].dmin);
      for (int r = 0; r < R; ++r) {
        const BlockQ8_K& y = row_block<BlockQ8_K>(a, stride, r, i);
        acc[r] = fmadd(scaled_sum<M>(q, y.qs, scv), y.d * d, acc[r]);
        accm[r] = fmadd(_mm256_madd_epi16(load(y.bsums), mins16), y.d * dmin, accm[r]);
      }
    }
    for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]) - hsum(accm[r]);
  }
};

// ---- Q3_K: x = d*sc*(u - 4), u = low 2 bits | hmask bit << 2 in 0..7,
// signed 6-bit sc; sum(sc*(u-4)*a) = sum(sc*u*a) - 4*sum(sc*bsum).
template <class M> struct Q3_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    const BlockQ3_K* x = static_cast<const BlockQ3_K*>(w);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (size_t i = 0; i < n / QK_K; ++i) {
      __m256i q[8], scv[8];
      unpack_2bit(x[i].qs, q);
      const __m256i hm = load(x[i].hmask);  // bit c of hmask[l]: element 32c + l
      for (int c = 0; c < 8; ++c) q[c] = _mm256_or_si256(q[c], bit_plane(hm, c, 2));
      const __m128i sc = q3_scales(x[i].scales);
      pair_scales(sc, scv);
      const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
      const float d = half(x[i].d);
      for (int r = 0; r < R; ++r) {
        const BlockQ8_K& y = row_block<BlockQ8_K>(a, stride, r, i);
        const __m256i bias = _mm256_madd_epi16(load(y.bsums), sc16);
        const __m256i isum = _mm256_sub_epi32(scaled_sum<M>(q, y.qs, scv), _mm256_slli_epi32(bias, 2));
        acc[r] = fmadd(isum, d * y.d, acc[r]);
      }
    }
    for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]);
  }
};

// ---- Q4_K / Q5_K: x = d*sc*q - dmin*m, 8 groups of 32 with 6-bit sc and
// m; the mins pair with two bsums per group.
template <class M, int R, class XB, class Unpack>
void qk_rows(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os, Unpack unpack) {
  const XB* x = static_cast<const XB*>(w);
  __m256 acc[R], accm[R];
  for (int r = 0; r < R; ++r) acc[r] = accm[r] = _mm256_setzero_ps();
  for (size_t i = 0; i < n / QK_K; ++i) {
    __m256i q[8], scv[8];
    unpack(x[i], q);
    uint64_t sc, mn;
    scales_mins_k4(x[i].scales, sc, mn);
    broadcast_scales(sc, scv);
    // each min pairs with the two bsums (16 quants each) of its group
    const __m128i m8 = _mm_cvtsi64_si128(int64_t(mn));
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    const float d = half(x[i].d), dmin = half(x[i].dmin);
    for (int r = 0; r < R; ++r) {
      const BlockQ8_K& y = row_block<BlockQ8_K>(a, stride, r, i);
      acc[r] = fmadd(scaled_sum<M>(q, y.qs, scv), y.d * d, acc[r]);
      accm[r] = fmadd(_mm256_madd_epi16(load(y.bsums), mins16), y.d * dmin, accm[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]) - hsum(accm[r]);
}

template <class M> struct Q4_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    qk_rows<M, R, BlockQ4_K>(w, a, stride, n, out, os,
                             [](const BlockQ4_K& b, __m256i q[8]) { unpack_4bit(b.qs, q); });
  }
};

template <class M> struct Q5_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    qk_rows<M, R, BlockQ5_K>(w, a, stride, n, out, os, [](const BlockQ5_K& b, __m256i q[8]) {
      unpack_4bit(b.qs, q);
      const __m256i qh = load(b.qh);  // bit c of qh[l]: element 32c + l
      for (int c = 0; c < 8; ++c) q[c] = _mm256_or_si256(q[c], bit_plane(qh, c, 4));
    });
  }
};

// ---- Q6_K: 16 groups of 16 values 0..63 (stored +32) with int8 scales;
// sum(sc * (q - 32) * a) = sum(sc * q * a) - 32 * sum(sc * bsum).
template <class M> struct Q6_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    const BlockQ6_K* x = static_cast<const BlockQ6_K*>(w);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    const __m256i lo = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    for (size_t i = 0; i < n / QK_K; ++i) {
      __m256i q[8], scv[8];
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
      const __m128i sc = load128(x[i].scales);
      pair_scales(sc, scv);
      const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
      const float d = half(x[i].d);
      for (int r = 0; r < R; ++r) {
        const BlockQ8_K& y = row_block<BlockQ8_K>(a, stride, r, i);
        const __m256i bias = _mm256_madd_epi16(load(y.bsums), sc16);
        const __m256i isum = _mm256_sub_epi32(scaled_sum<M>(q, y.qs, scv), _mm256_slli_epi32(bias, 5));
        acc[r] = fmadd(isum, d * y.d, acc[r]);
      }
    }
    for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]);
  }
};

// ---- Q8_K weights: signed, one float scale per super-block.
template <class M> struct Q8_KK {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    const BlockQ8_K* x = static_cast<const BlockQ8_K*>(w);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (size_t i = 0; i < n / QK_K; ++i) {
      __m256i isum[R];
      for (int r = 0; r < R; ++r) isum[r] = _mm256_setzero_si256();
      for (int c = 0; c < 8; ++c) {
        const __m256i q = load(x[i].qs + 32 * c), aq = _mm256_sign_epi8(q, q);
        for (int r = 0; r < R; ++r)
          isum[r] = M::dot_add(isum[r], aq, _mm256_sign_epi8(load(row_block<BlockQ8_K>(a, stride, r, i).qs + 32 * c), q));
      }
      for (int r = 0; r < R; ++r) acc[r] = fmadd(isum[r], x[i].d * row_block<BlockQ8_K>(a, stride, r, i).d, acc[r]);
    }
    for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]);
  }
};

}  // namespace
}  // namespace tessel::ggml
