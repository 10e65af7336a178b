// The k-quants: 256-element super-blocks of 16 or 32-element groups with
// 4..8-bit group scales (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) and Q8_K, their
// activation type. Every kernel first unpacks a super-block's quants into
// 256 int8 values in element order (simple loops the compiler vectorises),
// then applies the group scales exactly as ggml's dequantize_row_* does.
#include <algorithm>

#include "blocks.hpp"
#include "ggml_codecs.hpp"
#include "kquant_search.hpp"

namespace tessel::ggml {
namespace {

template <class B> const B* blocks(const void* p) { return static_cast<const B*>(p); }
template <class B> B* blocks(void* p) { return static_cast<B*>(p); }

// ---- unpacking: element e of the super-block -> q[e]
// Q2_K / Q3_K low bits: element e sits in byte (e/128)*32 + e%32 at bit 2*((e%128)/32).
void unpack_2bit(const uint8_t* qs, int8_t* q) {
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) q[h * 128 + k * 32 + l] = int8_t((qs[h * 32 + l] >> (2 * k)) & 3);
}
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < QK_K; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}
// Q3_K: the third bit of element e is bit e/32 of hmask[e%32]; clear means -4.
void unpack_q3(const BlockQ3_K& b, int8_t* q) {
  unpack_2bit(b.qs, q);
  for (int k = 0; k < 8; ++k)
    for (int l = 0; l < 32; ++l) q[k * 32 + l] = int8_t(q[k * 32 + l] - 4 + (((b.hmask[l] >> k) & 1) << 2));
}
// Q4_K / Q5_K: element e is in byte (e/64)*32 + e%32, low nibble when e%64 < 32;
// the Q5_K fifth bit is bit e/32 of qh[e%32].
void unpack_4bit(const uint8_t* qs, int8_t* q) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      q[c * 64 + l] = int8_t(qs[c * 32 + l] & 0xF);
      q[c * 64 + 32 + l] = int8_t(qs[c * 32 + l] >> 4);
    }
}
void unpack_q5k(const BlockQ5_K& b, int8_t* q) {
  unpack_4bit(b.qs, q);
  for (int k = 0; k < 8; ++k)
    for (int l = 0; l < 32; ++l) q[k * 32 + l] = int8_t(q[k * 32 + l] | (((b.qh[l] >> k) & 1) << 4));
}
// Integer dot of each group of G values with the Q8_K activations.
template <int G>
void group_dots(const int8_t* q, const int8_t* y, int* out) {
  for (int g = 0; g < QK_K / G; ++g) {
    int s = 0;
    for (int l = 0; l < G; ++l) s += int(q[g * G + l]) * int(y[g * G + l]);
    out[g] = s;
  }
}

// ================= Q2_K: x = d*sc*q - dmin*m, 16 groups of 16
void q2_k_to_float(const void* src, float* y, size_t n) {
  const BlockQ2_K* b = blocks<BlockQ2_K>(src);
  int8_t q[QK_K];
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = h2f(b[i].d), min = h2f(b[i].dmin);
    unpack_2bit(b[i].qs, q);
    for (int g = 0; g < 16; ++g) {
      const float dl = d * float(b[i].scales[g] & 0xF), ml = min * float(b[i].scales[g] >> 4);
      for (int l = 0; l < 16; ++l) y[g * 16 + l] = dl * float(q[g * 16 + l]) - ml;
    }
  }
}
void q2_k_from_float(const float* x, void* dst, size_t n) {
  BlockQ2_K* b = blocks<BlockQ2_K>(dst);
  uint8_t L[QK_K], Laux[16];
  float weights[16], mins[16], scales[16];
  const float q4scale = 15.f;
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < 16; ++j) b[i].scales[j] = uint8_t(nearest_int(iscale * scales[j]));
      b[i].d = f2h(max_scale / q4scale);
    } else {
      for (int j = 0; j < 16; ++j) b[i].scales[j] = 0;
      b[i].d = f2h(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < 16; ++j) b[i].scales[j] |= uint8_t(nearest_int(iscale * mins[j]) << 4);
      b[i].dmin = f2h(max_min / q4scale);
    } else {
      b[i].dmin = f2h(0.f);
    }
    // Requantize against the rounded scales; groups with a zero scale keep
    // the levels of the search.
    for (int j = 0; j < 16; ++j) {
      const float d = h2f(b[i].d) * float(b[i].scales[j] & 0xF);
      if (d == 0) continue;
      const float dm = h2f(b[i].dmin) * float(b[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = uint8_t(std::clamp(nearest_int((x[16 * j + l] + dm) / d), 0, 3));
    }
    pack_2bit(L, b[i].qs);
  }
}
float q2_k_dot(const void* w, const void* a, size_t n) {
  const BlockQ2_K* x = blocks<BlockQ2_K>(w);
  const BlockQ8_K* y = blocks<BlockQ8_K>(a);
  int8_t q[QK_K];
  int g16[16];
  float sum = 0;
  for (size_t i = 0; i < n / QK_K; ++i) {
    unpack_2bit(x[i].qs, q);
    group_dots<16>(q, y[i].qs, g16);
    int isum = 0, summs = 0;
    for (int j = 0; j < 16; ++j) {
      isum += (x[i].scales[j] & 0xF) * g16[j];
      summs += (x[i].scales[j] >> 4) * y[i].bsums[j];
    }
    const float dall = y[i].d * h2f(x[i].d), dmin = y[i].d * h2f(x[i].dmin);
    sum += dall * float(isum) - dmin * float(summs);
  }
  return sum;
}

// ================= Q3_K: x = d*(sc-32)*q, q in -4..3, 16 groups of 16
void q3_k_to_float(const void* src, float* y, size_t n) {
  const BlockQ3_K* b = blocks<BlockQ3_K>(src);
  int8_t q[QK_K], sc[16];
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = h2f(b[i].d);
    unpack_q3(b[i], q);
    unpack_q3_scales(b[i].scales, sc);
    for (int g = 0; g < 16; ++g) {
      const float dl = d * float(sc[g]);
      for (int l = 0; l < 16; ++l) y[g * 16 + l] = dl * float(q[g * 16 + l]);
    }
  }
}
void q3_k_from_float(const float* x, void* dst, size_t n) {
  BlockQ3_K* b = blocks<BlockQ3_K>(dst);
  int8_t L[QK_K], sc[16];
  float scales[16];
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > amax) { amax = std::fabs(scales[j]); max_scale = scales[j]; }
    }
    std::memset(b[i].scales, 0, 12);
    if (max_scale != 0) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        // ggml stores nearest_int in an int8_t before clamping.
        const int l = std::clamp(int(int8_t(nearest_int(iscale * scales[j]))), -32, 31) + 32;
        if (j < 8) b[i].scales[j] = uint8_t(l & 0xF);
        else b[i].scales[j - 8] |= uint8_t((l & 0xF) << 4);
        b[i].scales[j % 4 + 8] |= uint8_t((l >> 4) << (2 * (j / 4)));
      }
      b[i].d = f2h(1 / iscale);
    } else {
      b[i].d = f2h(0.f);
    }
    unpack_q3_scales(b[i].scales, sc);
    for (int j = 0; j < 16; ++j) {
      const float d = h2f(b[i].d) * float(sc[j]);
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = int8_t(std::clamp(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
    }
    std::memset(b[i].hmask, 0, 32);
    uint8_t low[QK_K];
    for (int e = 0; e < QK_K; ++e) {
      int l = L[e];
      if (l > 3) {
        b[i].hmask[e % 32] |= uint8_t(1 << (e / 32));
        l -= 4;
      }
      low[e] = uint8_t(l);
    }
    pack_2bit(low, b[i].qs);
  }
}
float q3_k_dot(const void* w, const void* a, size_t n) {
  const BlockQ3_K* x = blocks<BlockQ3_K>(w);
  const BlockQ8_K* y = blocks<BlockQ8_K>(a);
  int8_t q[QK_K], sc[16];
  int g16[16];
  float sum = 0;
  for (size_t i = 0; i < n / QK_K; ++i) {
    unpack_q3(x[i], q);
    unpack_q3_scales(x[i].scales, sc);
    group_dots<16>(q, y[i].qs, g16);
    int isum = 0;
    for (int j = 0; j < 16; ++j) isum += sc[j] * g16[j];
    sum += h2f(x[i].d) * y[i].d * float(isum);
  }
  return sum;
}

// ================= Q4_K / Q5_K: x = d*sc*q - dmin*m, 8 groups of 32
template <int NMAX>  // 15 for Q4_K, 31 for Q5_K
void qk_scales_mins(const float* x, uint8_t* L, uint8_t* scales12, uint16_t& d16, uint16_t& dmin16,
                    float rmin, int nstep) {
  uint8_t Laux[32];
  float weights[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = make_qkx2_quants(32, NMAX, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; ++j) {
    // ggml truncates nearest_int to uint8_t, then clamps to 63.
    const uint8_t ls = std::min<uint8_t>(63, uint8_t(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, uint8_t(nearest_int(inv_min * mins[j])));
    if (j < 4) {
      scales12[j] = ls;
      scales12[j + 4] = lm;
    } else {
      scales12[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
      scales12[j - 4] |= uint8_t((ls >> 4) << 6);
      scales12[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  d16 = f2h(max_scale / 63.f);
  dmin16 = f2h(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    scale_min_k4(j, scales12, sc, m);
    const float d = h2f(d16) * float(sc);
    if (d == 0) continue;
    const float dm = h2f(dmin16) * float(m);
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = uint8_t(std::clamp(nearest_int((x[32 * j + l] + dm) / d), 0, NMAX));
  }
}
void qk_to_float(const uint16_t d16, const uint16_t dmin16, const uint8_t* scales12, const int8_t* q, float* y) {
  const float d = h2f(d16), min = h2f(dmin16);
  for (int g = 0; g < 8; ++g) {
    uint8_t sc, m;
    scale_min_k4(g, scales12, sc, m);
    const float d1 = d * float(sc), m1 = min * float(m);
    for (int l = 0; l < 32; ++l) y[g * 32 + l] = d1 * float(q[g * 32 + l]) - m1;
  }
}
float qk_block_dot(uint16_t d16, uint16_t dmin16, const uint8_t* scales12, const int8_t* q, const BlockQ8_K& y) {
  int g32[8];
  group_dots<32>(q, y.qs, g32);
  int isum = 0, summs = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    scale_min_k4(j, scales12, sc, m);
    isum += sc * g32[j];
    summs += m * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
  }
  return y.d * h2f(d16) * float(isum) - y.d * h2f(dmin16) * float(summs);
}

void q4_k_to_float(const void* src, float* y, size_t n) {
  const BlockQ4_K* b = blocks<BlockQ4_K>(src);
  int8_t q[QK_K];
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    unpack_4bit(b[i].qs, q);
    qk_to_float(b[i].d, b[i].dmin, b[i].scales, q, y);
  }
}
void q4_k_from_float(const float* x, void* dst, size_t n) {
  BlockQ4_K* b = blocks<BlockQ4_K>(dst);
  uint8_t L[QK_K];
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    qk_scales_mins<15>(x, L, b[i].scales, b[i].d, b[i].dmin, -1.f, 20);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) b[i].qs[c * 32 + l] = uint8_t(L[c * 64 + l] | (L[c * 64 + 32 + l] << 4));
  }
}
float q4_k_dot(const void* w, const void* a, size_t n) {
  const BlockQ4_K* x = blocks<BlockQ4_K>(w);
  const BlockQ8_K* y = blocks<BlockQ8_K>(a);
  int8_t q[QK_K];
  float sum = 0;
  for (size_t i = 0; i < n / QK_K; ++i) {
    unpack_4bit(x[i].qs, q);
    sum += qk_block_dot(x[i].d, x[i].dmin, x[i].scales, q, y[i]);
  }
  return sum;
}

void q5_k_to_float(const void* src, float* y, size_t n) {
  const BlockQ5_K* b = blocks<BlockQ5_K>(src);
  int8_t q[QK_K];
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    unpack_q5k(b[i], q);
    qk_to_float(b[i].d, b[i].dmin, b[i].scales, q, y);
  }
}
void q5_k_from_float(const float* x, void* dst, size_t n) {
  BlockQ5_K* b = blocks<BlockQ5_K>(dst);
  uint8_t L[QK_K];
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    qk_scales_mins<31>(x, L, b[i].scales, b[i].d, b[i].dmin, -0.5f, 15);
    std::memset(b[i].qh, 0, 32);
    for (int e = 0; e < QK_K; ++e)
      if (L[e] > 15) {
        L[e] = uint8_t(L[e] - 16);
        b[i].qh[e % 32] |= uint8_t(1 << (e / 32));
      }
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) b[i].qs[c * 32 + l] = uint8_t(L[c * 64 + l] | (L[c * 64 + 32 + l] << 4));
  }
}
float q5_k_dot(const void* w, const void* a, size_t n) {
  const BlockQ5_K* x = blocks<BlockQ5_K>(w);
  const BlockQ8_K* y = blocks<BlockQ8_K>(a);
  int8_t q[QK_K];
  float sum = 0;
  for (size_t i = 0; i < n / QK_K; ++i) {
    unpack_q5k(x[i], q);
    sum += qk_block_dot(x[i].d, x[i].dmin, x[i].scales, q, y[i]);
  }
  return sum;
}

// ================= Q6_K: x = d*sc*q, q in -32..31, 16 groups of 16
void q6_k_to_float(const void* src, float* y, size_t n) {
  const BlockQ6_K* b = blocks<BlockQ6_K>(src);
  int8_t q[QK_K];
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = h2f(b[i].d);
    unpack_q6(b[i], q);
    for (int g = 0; g < 16; ++g) {
      const float ds = d * float(b[i].scales[g]);
      for (int l = 0; l < 16; ++l) y[g * 16 + l] = ds * float(q[g * 16 + l]);
    }
  }
}
void q6_k_from_float(const float* x, void* dst, size_t n) {
  BlockQ6_K* b = blocks<BlockQ6_K>(dst);
  int8_t L[QK_K];
  float scales[16];
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float max_scale = 0, max_abs_scale = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = make_qx_quants(16, 32, x + 16 * j, L + 16 * j, nullptr);
      if (std::fabs(scales[j]) > max_abs_scale) { max_abs_scale = std::fabs(scales[j]); max_scale = scales[j]; }
    }
    if (max_abs_scale < 1e-15f) {  // an all-zero super-block
      std::memset(&b[i], 0, sizeof(BlockQ6_K));
      continue;
    }
    const float iscale = -128.f / max_scale;
    b[i].d = f2h(1 / iscale);
    for (int j = 0; j < 16; ++j) b[i].scales[j] = int8_t(std::min(127, nearest_int(iscale * scales[j])));
    for (int j = 0; j < 16; ++j) {
      const float d = h2f(b[i].d) * float(b[i].scales[j]);
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = int8_t(std::clamp(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
    }
    for (int h = 0; h < 2; ++h) {
      const int8_t* Lh = L + 128 * h;
      uint8_t* ql = b[i].ql + 64 * h;
      uint8_t* qh = b[i].qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = uint8_t((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
        ql[l + 32] = uint8_t((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
        qh[l] = uint8_t((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}
float q6_k_dot(const void* w, const void* a, size_t n) {
  const BlockQ6_K* x = blocks<BlockQ6_K>(w);
  const BlockQ8_K* y = blocks<BlockQ8_K>(a);
  int8_t q[QK_K];
  int g16[16];
  float sum = 0;
  for (size_t i = 0; i < n / QK_K; ++i) {
    unpack_q6(x[i], q);
    group_dots<16>(q, y[i].qs, g16);
    int isum = 0;
    for (int j = 0; j < 16; ++j) isum += x[i].scales[j] * g16[j];
    sum += h2f(x[i].d) * y[i].d * float(isum);
  }
  return sum;
}

// ================= Q8_K: float d, x = d*q; bsums = sums of 16 quants (for the mins)
void q8_k_to_float(const void* src, float* y, size_t n) {
  const BlockQ8_K* b = blocks<BlockQ8_K>(src);
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K)
    for (int l = 0; l < QK_K; ++l) y[l] = b[i].d * float(b[i].qs[l]);
}
void q8_k_from_float(const float* x, void* dst, size_t n) {
  BlockQ8_K* b = blocks<BlockQ8_K>(dst);
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float max = 0, amax = 0;
    for (int l = 0; l < QK_K; ++l)
      if (std::fabs(x[l]) > amax) { amax = std::fabs(x[l]); max = x[l]; }
    if (amax == 0) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // -127 (not -128) keeps every quant in -127..127.
    const float iscale = -127.f / max;
    for (int l = 0; l < QK_K; ++l) b[i].qs[l] = int8_t(std::min(127, nearest_int(iscale * x[l])));
    for (int j = 0; j < 16; ++j) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += b[i].qs[16 * j + l];
      b[i].bsums[j] = int16_t(s);
    }
    b[i].d = 1 / iscale;
  }
}
float q8_k_dot(const void* w, const void* a, size_t n) {
  const BlockQ8_K* x = blocks<BlockQ8_K>(w);
  const BlockQ8_K* y = blocks<BlockQ8_K>(a);
  float sum = 0;
  for (size_t i = 0; i < n / QK_K; ++i) {
    int s = 0;
    for (int l = 0; l < QK_K; ++l) s += int(x[i].qs[l]) * int(y[i].qs[l]);
    sum += x[i].d * y[i].d * float(s);
  }
  return sum;
}

}  // namespace

void add_kquant_kernels(std::vector<Kernels>& out) {
  out.push_back({TypeId::Q2_K, TypeId::Q8_K, q2_k_to_float, q2_k_from_float, q2_k_dot});
  out.push_back({TypeId::Q3_K, TypeId::Q8_K, q3_k_to_float, q3_k_from_float, q3_k_dot});
  out.push_back({TypeId::Q4_K, TypeId::Q8_K, q4_k_to_float, q4_k_from_float, q4_k_dot});
  out.push_back({TypeId::Q5_K, TypeId::Q8_K, q5_k_to_float, q5_k_from_float, q5_k_dot});
  out.push_back({TypeId::Q6_K, TypeId::Q8_K, q6_k_to_float, q6_k_from_float, q6_k_dot});
  out.push_back({TypeId::Q8_K, TypeId::Q8_K, q8_k_to_float, q8_k_from_float, q8_k_dot});
}

}  // namespace tessel::ggml
