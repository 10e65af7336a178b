#pragma once
// The 32-element legacy quants (see simd_dots_common.hpp for the rules):
// Q8_0, Q4_0, Q5_0 x Q8_0 and Q8_1 x Q8_1 are signed values times one scale
// per block; Q4_1, Q5_1 x Q8_1 are unsigned values with a scale and a min,
// the min term taken from the activation block's stored d * sum(a).
#include "simd_dots_common.hpp"

namespace tessel::ggml {
namespace {

// ---- signed weights: sum(q * a) per block via |q| and sign(a, q).
// Unpack(block, d) returns the 32 signed values and sets the float scale.
template <class M, int R, class XB, class YB, class Unpack>
void signed_rows(const void* w, const void* a, size_t stride, size_t nb, float* out, size_t os,
                 Unpack unpack) {
  const XB* x = static_cast<const XB*>(w);
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (size_t i = 0; i < nb; ++i) {
    float dx;
    const __m256i q = unpack(x[i], dx);
    const __m256i aq = _mm256_sign_epi8(q, q);
    for (int r = 0; r < R; ++r) {
      const YB& y = row_block<YB>(a, stride, r, i);
      acc[r] = fmadd(M::dot(aq, _mm256_sign_epi8(load(y.qs), q)), dx * half(y.d), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]);
}

template <class M> struct Q8_0K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    signed_rows<M, R, BlockQ8_0, BlockQ8_0>(w, a, stride, n / QK, out, os, [](const BlockQ8_0& b, float& d) {
      d = half(b.d);
      return load(b.qs);
    });
  }
};

// Q8_1 weights (ggml's scalar dot ignores the stored sums here too).
template <class M> struct Q8_1K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    signed_rows<M, R, BlockQ8_1, BlockQ8_1>(w, a, stride, n / QK, out, os, [](const BlockQ8_1& b, float& d) {
      d = half(b.d);
      return load(b.qs);
    });
  }
};

template <class M> struct Q4_0K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    signed_rows<M, R, BlockQ4_0, BlockQ8_0>(w, a, stride, n / QK, out, os, [](const BlockQ4_0& b, float& d) {
      d = half(b.d);
      return _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8));  // stored +8
    });
  }
};

template <class M> struct Q5_0K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    signed_rows<M, R, BlockQ5_0, BlockQ8_0>(w, a, stride, n / QK, out, os, [](const BlockQ5_0& b, float& d) {
      d = half(b.d);
      const __m256i q = _mm256_or_si256(nibbles32(b.qs), fifth_bits(b.qh));
      return _mm256_sub_epi8(q, _mm256_set1_epi8(16));  // stored +16
    });
  }
};

// ---- unsigned weights with a min: x = d*q + m, so
// dot = dx*dy*sum(q*a) + mx * (dy*sum(a)), the last factor stored in y.s.
template <class M, int R, class XB, class Unpack>
void min_rows(const void* w, const void* a, size_t stride, size_t nb, float* out, size_t os, Unpack unpack) {
  const XB* x = static_cast<const XB*>(w);
  __m256 acc[R];
  float mins[R];
  for (int r = 0; r < R; ++r) {
    acc[r] = _mm256_setzero_ps();
    mins[r] = 0;
  }
  for (size_t i = 0; i < nb; ++i) {
    const __m256i q = unpack(x[i]);  // 0..31, a valid unsigned operand as is
    const float dx = half(x[i].d), mx = half(x[i].m);
    for (int r = 0; r < R; ++r) {
      const BlockQ8_1& y = row_block<BlockQ8_1>(a, stride, r, i);
      acc[r] = fmadd(M::dot(q, load(y.qs)), dx * half(y.d), acc[r]);
      mins[r] += mx * half(y.s);
    }
  }
  for (int r = 0; r < R; ++r) out[r * os] = hsum(acc[r]) + mins[r];
}

template <class M> struct Q4_1K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    min_rows<M, R, BlockQ4_1>(w, a, stride, n / QK, out, os,
                              [](const BlockQ4_1& b) { return nibbles32(b.qs); });
  }
};

template <class M> struct Q5_1K {
  template <int R>
  static void run(const void* w, const void* a, size_t stride, size_t n, float* out, size_t os) {
    min_rows<M, R, BlockQ5_1>(w, a, stride, n / QK, out, os, [](const BlockQ5_1& b) {
      return _mm256_or_si256(nibbles32(b.qs), fifth_bits(b.qh));
    });
  }
};

}  // namespace
}  // namespace tessel::ggml
