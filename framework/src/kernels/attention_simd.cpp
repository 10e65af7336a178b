// Vector building blocks of kernels::attention; see attention_simd.hpp.
// GCC 12's AVX-512 headers build vectors from deliberately uninitialised
// ones (_mm512_undefined_*), which -Wmaybe-uninitialized reports at every
// inlined use: a false positive, silenced for this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "kernels/attention_simd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tessel/half.hpp"

#if defined(__AVX512F__) || defined(__AVX__) || defined(__F16C__)
#include <immintrin.h>
#endif

namespace tessel::kernels::attn {

namespace {

using batch = xsimd::batch<float>;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

#if defined(__AVX512F__)
static_assert(kLanes == 16, "xsimd picks its AVX-512 batch when the build has AVX-512");
#elif defined(__AVX__)
static_assert(kLanes == 8, "xsimd picks its AVX batch when the build has AVX");
#endif

// Vectors per V·P chunk: the accumulators of kMaxQueries queries times this
// many vectors must stay in registers (32 with AVX-512, 16 with AVX2).
constexpr int kMaxVectors = kLanes >= 16 ? 4 : 2;
// Column vectors per K·Q pass, for the same reason.
constexpr int kDotColumns = kLanes >= 16 ? 4 : 2;

// The first n < kLanes floats of p, the other lanes `fill`.
batch load_partial(const float* p, int64_t n, float fill) {
  alignas(64) float tmp[kLanes];
  for (int64_t i = 0; i < kLanes; ++i) tmp[i] = i < n ? p[i] : fill;
  return batch::load_aligned(tmp);
}

void store_partial(const batch& v, float* p, int64_t n) {
  alignas(64) float tmp[kLanes];
  v.store_aligned(tmp);
  std::copy(tmp, tmp + n, p);
}

// Every lane rounded to F16 (round to nearest even, overflow to inf: the
// hardware conversion and tessel::fp32_to_fp16 agree).
batch round_f16(const batch& x) {
#if defined(__AVX512F__)
  return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif defined(__AVX__) && defined(__F16C__)
  return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#else
  alignas(64) float tmp[kLanes];
  x.store_aligned(tmp);
  for (auto& t : tmp) t = round_fp16(t);
  return batch::load_aligned(tmp);
#endif
}

// A running sum of float lanes in double (the softmax denominator).
struct DoubleSum {
#if defined(__AVX512F__)
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  void add(const batch& v) {
    const __m512 f = v;
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
  }
  double total() const { return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi)); }
#elif defined(__AVX__)
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  void add(const batch& v) {
    const __m256 f = v;
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
  }
  double total() const {
    alignas(32) double t[4];
    _mm256_store_pd(t, _mm256_add_pd(lo, hi));
    return (t[0] + t[1]) + (t[2] + t[3]);
  }
#else
  double lanes[kLanes] = {};
  void add(const batch& v) {
    alignas(64) float tmp[kLanes];
    v.store_aligned(tmp);
    for (int64_t i = 0; i < kLanes; ++i) lanes[i] += double(tmp[i]);
  }
  double total() const {
    double s = 0.0;
    for (double l : lanes) s += l;
    return s;
  }
#endif
};

float max_lane(const batch& v) {
  alignas(64) float tmp[kLanes];
  v.store_aligned(tmp);
  return *std::max_element(tmp, tmp + kLanes);
}

// x[i] = exp(x[i]) for n values (the xsimd exp, ~1 ulp; -inf gives 0).
void exp_row(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) xsimd::exp(batch::load_unaligned(x + i)).store_unaligned(x + i);
  if (i < n) store_partial(xsimd::exp(load_partial(x + i, n - i, 0.0f)), x + i, n - i);
}

#if defined(__AVX512F__)
// r[k] becomes column k of the 16x16 block whose rows are r[0..15].
void transpose16(__m512 r[16]) {
  __m512 a[16], b[16];
  for (int i = 0; i < 8; ++i) {  // within 128-bit lanes: pairs of rows interleaved
    a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  auto lo_pd = [](__m512 x, __m512 y) {
    return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)));
  };
  auto hi_pd = [](__m512 x, __m512 y) {
    return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)));
  };
  for (int i = 0; i < 4; ++i) {  // b[4i + k]: element 4l + k of rows 4i..4i+3 in lane l
    b[4 * i] = lo_pd(a[4 * i], a[4 * i + 2]);
    b[4 * i + 1] = hi_pd(a[4 * i], a[4 * i + 2]);
    b[4 * i + 2] = lo_pd(a[4 * i + 1], a[4 * i + 3]);
    b[4 * i + 3] = hi_pd(a[4 * i + 1], a[4 * i + 3]);
  }
  for (int k = 0; k < 4; ++k) {  // gather lane l of b[k], b[4+k], b[8+k], b[12+k]
    const __m512 u = _mm512_shuffle_f32x4(b[k], b[4 + k], 0x88);
    const __m512 v = _mm512_shuffle_f32x4(b[k], b[4 + k], 0xDD);
    const __m512 u2 = _mm512_shuffle_f32x4(b[8 + k], b[12 + k], 0x88);
    const __m512 v2 = _mm512_shuffle_f32x4(b[8 + k], b[12 + k], 0xDD);
    r[k] = _mm512_shuffle_f32x4(u, u2, 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(u, u2, 0xDD);
    r[4 + k] = _mm512_shuffle_f32x4(v, v2, 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(v, v2, 0xDD);
  }
}

// 16 elements of a row from d0 (nd < 16: the rest zero).
__m512 load_row16(const void* row, bool f16, int64_t d0, int64_t nd) {
  if (nd == 16) {
    if (f16) return _mm512_cvtph_ps(_mm256_loadu_si256(
                 reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(row) + d0)));
    return _mm512_loadu_ps(static_cast<const float*>(row) + d0);
  }
  alignas(64) float tmp[16] = {};
  for (int64_t d = 0; d < nd; ++d)
    tmp[d] = f16 ? fp16_to_fp32(static_cast<const uint16_t*>(row)[d0 + d])
                 : static_cast<const float*>(row)[d0 + d];
  return _mm512_load_ps(tmp);
}
#endif

// K·Q for NC column vectors from column c, NQ queries: every K load feeds NQ
// multiply-adds, every Q broadcast NC.
template <int NQ, int NC>
void dot_block(const float* q_rows, int64_t hd, const float* kt, int64_t ld, int64_t c, float* s) {
  batch acc[NQ][NC];
  for (auto& a : acc)
    for (auto& x : a) x = batch(0.0f);
  for (int64_t d = 0; d < hd; ++d) {
    batch k[NC];
    for (int i = 0; i < NC; ++i) k[i] = batch::load_aligned(kt + d * ld + c + i * kLanes);
    for (int q = 0; q < NQ; ++q) {
      const batch qd(q_rows[q * hd + d]);
      for (int i = 0; i < NC; ++i) acc[q][i] = xsimd::fma(qd, k[i], acc[q][i]);
    }
  }
  for (int q = 0; q < NQ; ++q)
    for (int i = 0; i < NC; ++i) acc[q][i].store_aligned(s + q * ld + c + i * kLanes);
}

template <int NQ>
void dot_columns_n(const float* q_rows, int64_t hd, const float* kt, int64_t ld, int64_t c0,
                   int64_t c1, float* s) {
  const int64_t c_end = round_up(c1, kLanes);
  int64_t c = c0;
  for (; c + kDotColumns * kLanes <= c_end; c += kDotColumns * kLanes)
    dot_block<NQ, kDotColumns>(q_rows, hd, kt, ld, c, s);
  for (; c < c_end; c += kLanes) dot_block<NQ, 1>(q_rows, hd, kt, ld, c, s);
}

// V·P for dims [d0, d0 + NV * kLanes) of NQ queries.
template <int NQ, int NV>
void weighted_chunk(const float* p, int64_t ld, const float* v, int64_t v_stride, int64_t c0,
                    int64_t c1, int64_t d0, float* const* outs) {
  batch acc[NQ][NV];
  for (auto& a : acc)
    for (auto& x : a) x = batch(0.0f);
  for (int64_t c = c0; c < c1; ++c) {
    const float* vr = v + c * v_stride + d0;
    batch vv[NV];
    for (int k = 0; k < NV; ++k) vv[k] = batch::load_unaligned(vr + k * kLanes);
    for (int q = 0; q < NQ; ++q) {
      const batch pq(p[q * ld + c]);
      for (int k = 0; k < NV; ++k) acc[q][k] = xsimd::fma(pq, vv[k], acc[q][k]);
    }
  }
  for (int q = 0; q < NQ; ++q)
    for (int k = 0; k < NV; ++k) acc[q][k].store_unaligned(outs[q] + d0 + k * kLanes);
}

template <int NQ>
void weighted_rows_n(const float* p, int64_t ld, const float* v, int64_t v_stride, int64_t c0,
                     int64_t c1, int64_t hd, float* const* outs) {
  int64_t d0 = 0;
  for (; hd - d0 >= kMaxVectors * kLanes; d0 += kMaxVectors * kLanes)
    weighted_chunk<NQ, kMaxVectors>(p, ld, v, v_stride, c0, c1, d0, outs);
  const int64_t rest = (hd - d0) / kLanes;
  if (rest >= 3 && kMaxVectors > 3) weighted_chunk<NQ, 3>(p, ld, v, v_stride, c0, c1, d0, outs);
  else if (rest == 2) weighted_chunk<NQ, 2>(p, ld, v, v_stride, c0, c1, d0, outs);
  else if (rest == 1) weighted_chunk<NQ, 1>(p, ld, v, v_stride, c0, c1, d0, outs);
  d0 += rest * kLanes;
  for (int q = 0; q < NQ; ++q)  // dims past the last whole vector
    for (int64_t d = d0; d < hd; ++d) {
      float acc = 0.0f;
      for (int64_t c = c0; c < c1; ++c) acc = std::fma(p[q * ld + c], v[c * v_stride + d], acc);
      outs[q][d] = acc;
    }
}

// The flash accumulator for dims [d0, d0 + NV * kLanes): rescaled by ms[j]
// when the running max moved, then += V row j * vs[j]; rounded to F16 after
// each step when F16.
template <int NV, bool F16>
void flash_chunk(const float* x, const float* ms, const float* vs, int64_t n, const float* v,
                 int64_t v_stride, int64_t d0, float* acc_out) {
  batch acc[NV];
  for (auto& a : acc) a = batch(0.0f);
  for (int64_t j = 0; j < n; ++j) {
    if (x[j] == kNegInf) continue;  // masked: ggml skips the cell
    if (ms[j] != 1.0f) {
      const batch m(ms[j]);
      for (auto& a : acc) a = F16 ? round_f16(a * m) : a * m;
    }
    const batch w(vs[j]);
    const float* vr = v + j * v_stride + d0;
    for (int k = 0; k < NV; ++k) {
      const batch r = xsimd::fma(batch::load_unaligned(vr + k * kLanes), w, acc[k]);
      acc[k] = F16 ? round_f16(r) : r;
    }
  }
  for (int k = 0; k < NV; ++k) acc[k].store_unaligned(acc_out + d0 + k * kLanes);
}

template <bool F16>
void flash_accumulate(const float* x, const float* ms, const float* vs, int64_t n, const float* v,
                      int64_t v_stride, int64_t hd, float* acc_out) {
  int64_t d0 = 0;
  for (; hd - d0 >= kMaxVectors * kLanes; d0 += kMaxVectors * kLanes)
    flash_chunk<kMaxVectors, F16>(x, ms, vs, n, v, v_stride, d0, acc_out);
  for (; hd - d0 >= kLanes; d0 += kLanes) flash_chunk<1, F16>(x, ms, vs, n, v, v_stride, d0, acc_out);
  for (int64_t d = d0; d < hd; ++d) {  // dims past the last whole vector
    float acc = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      if (x[j] == kNegInf) continue;
      if (ms[j] != 1.0f) acc = F16 ? round_fp16(acc * ms[j]) : acc * ms[j];
      const float r = std::fma(v[j * v_stride + d], vs[j], acc);
      acc = F16 ? round_fp16(r) : r;
    }
    acc_out[d] = acc;
  }
}

}  // namespace

void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
#endif
  for (; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void round_to_f16(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) round_f16(batch::load_unaligned(x + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] = round_fp16(x[i]);
}

void transpose_rows(const void* base, bool f16, int64_t stride, int64_t n_rows, int64_t hd,
                    float* kt, int64_t ld) {
  auto row = [&](int64_t c) -> const void* {
    return f16 ? static_cast<const void*>(static_cast<const uint16_t*>(base) + c * stride)
               : static_cast<const void*>(static_cast<const float*>(base) + c * stride);
  };
#if defined(__AVX512F__)
  for (int64_t c0 = 0; c0 < ld; c0 += 16) {
    const int64_t rows = std::clamp<int64_t>(n_rows - c0, 0, 16);
    for (int64_t d0 = 0; d0 < hd; d0 += 16) {
      const int64_t nd = std::min<int64_t>(16, hd - d0);
      __m512 r[16];
      for (int64_t i = 0; i < 16; ++i)
        r[i] = i < rows ? load_row16(row(c0 + i), f16, d0, nd) : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t k = 0; k < nd; ++k) _mm512_store_ps(kt + (d0 + k) * ld + c0, r[k]);
    }
  }
#else
  for (int64_t c = 0; c < ld; ++c)
    for (int64_t d = 0; d < hd; ++d) {
      float x = 0.0f;
      if (c < n_rows)
        x = f16 ? fp16_to_fp32(static_cast<const uint16_t*>(row(c))[d]) : static_cast<const float*>(row(c))[d];
      kt[d * ld + c] = x;
    }
#endif
}

void dot_columns(const float* q_rows, int nq, int64_t hd, const float* kt, int64_t ld,
                 int64_t c0, int64_t c1, float* s) {
  switch (nq) {
    case 1: dot_columns_n<1>(q_rows, hd, kt, ld, c0, c1, s); break;
    case 2: dot_columns_n<2>(q_rows, hd, kt, ld, c0, c1, s); break;
    case 3: dot_columns_n<3>(q_rows, hd, kt, ld, c0, c1, s); break;
    default: dot_columns_n<4>(q_rows, hd, kt, ld, c0, c1, s); break;
  }
}

void weighted_rows(const float* p, int64_t ld, int nq, const float* v, int64_t v_stride,
                   int64_t c0, int64_t c1, int64_t hd, float* const* outs) {
  switch (nq) {
    case 1: weighted_rows_n<1>(p, ld, v, v_stride, c0, c1, hd, outs); break;
    case 2: weighted_rows_n<2>(p, ld, v, v_stride, c0, c1, hd, outs); break;
    case 3: weighted_rows_n<3>(p, ld, v, v_stride, c0, c1, hd, outs); break;
    default: weighted_rows_n<4>(p, ld, v, v_stride, c0, c1, hd, outs); break;
  }
}

void soft_max_row(float* x, int64_t n, const float* mask, float scale, bool to_f16) {
  if (n <= 0) return;
  const batch vscale(scale);
  batch vmax(kNegInf);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const batch m = mask ? batch::load_unaligned(mask + i) : batch(0.0f);
    const batch y = xsimd::fma(batch::load_unaligned(x + i), vscale, m);
    y.store_unaligned(x + i);
    vmax = xsimd::max(vmax, y);
  }
  if (i < n) {  // the padding lanes are left out of the max
    const batch m = mask ? load_partial(mask + i, n - i, 0.0f) : batch(0.0f);
    store_partial(xsimd::fma(load_partial(x + i, n - i, 0.0f), vscale, m), x + i, n - i);
    vmax = xsimd::max(vmax, load_partial(x + i, n - i, kNegInf));
  }
  const float max = max_lane(vmax);
  if (max == kNegInf) {  // every cell masked
    std::fill(x, x + n, 0.0f);
    return;
  }
  const batch vm(max);
  DoubleSum sum;
  for (i = 0; i + kLanes <= n; i += kLanes) {
    const batch e = xsimd::exp(batch::load_unaligned(x + i) - vm);
    e.store_unaligned(x + i);
    sum.add(e);
  }
  if (i < n) {  // padding lanes are -inf: exp gives 0 and the sum is unchanged
    const batch e = xsimd::exp(load_partial(x + i, n - i, kNegInf) - vm);
    store_partial(e, x + i, n - i);
    sum.add(e);
  }
  const float inv = float(1.0 / sum.total());
  for (i = 0; i + kLanes <= n; i += kLanes) {
    const batch y = batch::load_unaligned(x + i) * batch(inv);
    (to_f16 ? round_f16(y) : y).store_unaligned(x + i);
  }
  for (; i < n; ++i) x[i] = to_f16 ? round_fp16(x[i] * inv) : x[i] * inv;
}

void flash_row(const float* s, const float* mask, int64_t n, float scale, float softcap,
               const float* v, int64_t v_stride, int64_t hd, bool f16_acc, float* out,
               FloatBuf& work) {
  const int64_t np = round_up(std::max<int64_t>(n, 1), kLanes);
  if (work.size() < size_t(3 * np + round_up(hd, kLanes))) work.resize(size_t(3 * np + round_up(hd, kLanes)));
  float* x = work.data();  // the scaled, capped, masked scores (-inf: skipped)
  float* ms = x + np;      // exp(M_before - M_after): rescale of acc and S
  float* vs = ms + np;     // exp(x - M_after): weight of V row j
  float* acc = vs + np;
  const float sc = softcap > 0.0f ? scale / softcap : scale;
  float M = kNegInf;
  for (int64_t j = 0; j < n; ++j) {
    const float mv = mask ? mask[j] : 0.0f;
    ms[j] = vs[j] = 0.0f;
    if (mv == kNegInf) {
      x[j] = kNegInf;
      continue;
    }
    float t = s[j] * sc;
    if (softcap > 0.0f) t = softcap * std::tanh(t);
    t += mv;
    x[j] = t;
    if (t == kNegInf) continue;
    // ggml: a new max rescales by exp(M - s) and adds V with weight 1;
    // otherwise the weight is exp(s - M). Both are exp(.) of these.
    const float m_new = t > M ? t : M;
    ms[j] = M - m_new;
    vs[j] = t - m_new;
    M = m_new;
  }
  exp_row(ms, n);
  exp_row(vs, n);
  float S = 0.0f;
  for (int64_t j = 0; j < n; ++j)
    if (x[j] != kNegInf) S = S * ms[j] + vs[j];
  if (f16_acc) flash_accumulate<true>(x, ms, vs, n, v, v_stride, hd, acc);
  else flash_accumulate<false>(x, ms, vs, n, v, v_stride, hd, acc);
  const float inv = S == 0.0f ? 0.0f : 1.0f / S;
  for (int64_t d = 0; d < hd; ++d) out[d] = acc[d] * inv;
}

}  // namespace tessel::kernels::attn
