// The 32-element "legacy" quants: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
// from_float follows ggml's quantize_row_*_ref step by step (same float
// operations in the same order, same truncating casts), which is what
// llama-quantize uses without an importance matrix, so files come out
// byte-identical. Dots sum integer products per block, then scale.
#include <algorithm>
#include <cfloat>

#include "blocks.hpp"
#include "ggml_codecs.hpp"

namespace tessel::ggml {
namespace {

template <class B> const B* blocks(const void* p) { return static_cast<const B*>(p); }
template <class B> B* blocks(void* p) { return static_cast<B*>(p); }

// Largest-magnitude value keeping its sign; the first one wins ties.
inline float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
  return max;
}
inline void min_max(const float* x, int n, float& mn, float& mx) {
  mn = FLT_MAX;
  mx = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < mn) mn = x[j];
    if (x[j] > mx) mx = x[j];
  }
}
// ggml casts to int8_t (truncation toward zero) before clamping.
inline int trunc8(float v) { return int8_t(int(v)); }

// Integer dot of one block. Both operands are int8 on purpose: GCC turns
// int8 x int8 sums into good vector code; with mixed signedness it did much
// worse in a micro-benchmark.
inline int dot_i8(const int8_t* x, const int8_t* y) {
  int s = 0;
  for (int j = 0; j < QK; ++j) s += int(x[j]) * int(y[j]);
  return s;
}
inline int sum_i8(const int8_t* y, int n) {
  int s = 0;
  for (int j = 0; j < n; ++j) s += y[j];
  return s;
}
// The 32 values of a 4/5-bit block in element order (low nibbles first, then
// high nibbles), fifth bits from qh when given, minus `offset`. Written with
// vector types: left to the auto-vectoriser, the fifth-bit merge came out as
// byte-by-byte inserts (seen with perf annotate).
inline void unpack_block(const uint8_t* qs, const uint8_t* qh_bytes, int offset, int8_t* q) {
  const U8x16 raw = load16(qs);
  U8x16 lo = raw & 0xF, hi = raw >> 4;
  if (qh_bytes) {
    // Spread each byte of qh to 8 bytes holding 0x10 or 0: the multiply
    // copies the byte into every lane, the mask keeps lane k's bit k, adding
    // 0x7f carries a set bit into bit 7 (lane k = byte k: little-endian host).
    uint64_t bits[4];
    for (int k = 0; k < 4; ++k) {
      const uint64_t lanes = uint64_t(qh_bytes[k]) * 0x0101010101010101ull & 0x8040201008040201ull;
      bits[k] = (((lanes + 0x7f7f7f7f7f7f7f7full) >> 7) & 0x0101010101010101ull) << 4;
    }
    U8x16 b0, b1;
    std::memcpy(&b0, bits, 16);
    std::memcpy(&b1, bits + 2, 16);
    lo |= b0;
    hi |= b1;
  }
  const U8x16 off = U8x16{} + uint8_t(offset);
  lo -= off;  // wraps to the int8 value
  hi -= off;
  store16(q, lo);
  store16(q + 16, hi);
}

// Dot of a weight row with Q8_0/Q8_1 activations, 8 blocks at a time: unpack
// the weights to int8, take the 8 integer block sums, then add each block's
// scaled sum in order. Working on 256 values per step keeps the compiler's
// vector loops full; block by block was several times slower in a
// micro-benchmark.
template <class XB, class YB, class Unpack, class Scale>
float chunked_dot(const XB* x, const YB* y, size_t nb, Unpack unpack, Scale scale) {
  constexpr int G = 8;
  float sum = 0;
  int8_t q[G * QK];
  int s[G];
  for (size_t i0 = 0; i0 < nb; i0 += G) {
    const int g = int(std::min<size_t>(G, nb - i0));
    for (int b = 0; b < g; ++b) unpack(x[i0 + b], q + b * QK);
    for (int b = 0; b < g; ++b) s[b] = dot_i8(q + b * QK, y[i0 + b].qs);
    for (int b = 0; b < g; ++b) sum += scale(x[i0 + b], y[i0 + b], s[b]);
  }
  return sum;
}

// ---- Q4_0: d * (q - 8)
void q4_0_to_float(const void* src, float* y, size_t n) {
  const BlockQ4_0* b = blocks<BlockQ4_0>(src);
  for (size_t i = 0; i < n / QK; ++i) {
    const float d = h2f(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[i * QK + j] = float((b[i].qs[j] & 0xF) - 8) * d;
      y[i * QK + j + 16] = float((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}
void q4_0_from_float(const float* x, void* dst, size_t n) {
  BlockQ4_0* b = blocks<BlockQ4_0>(dst);
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    const float d = signed_absmax(x, QK) / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f2h(d);
    for (int j = 0; j < 16; ++j) {
      const int lo = std::min(15, trunc8(x[j] * id + 8.5f));
      const int hi = std::min(15, trunc8(x[j + 16] * id + 8.5f));
      b[i].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}
float q4_0_dot(const void* w, const void* a, size_t n) {
  return chunked_dot(
      blocks<BlockQ4_0>(w), blocks<BlockQ8_0>(a), n / QK,
      [](const BlockQ4_0& b, int8_t* q) { unpack_block(b.qs, nullptr, 8, q); },
      [](const BlockQ4_0& x, const BlockQ8_0& y, int s) { return float(s) * h2f(x.d) * h2f(y.d); });
}

// ---- Q4_1: d * q + m
void q4_1_to_float(const void* src, float* y, size_t n) {
  const BlockQ4_1* b = blocks<BlockQ4_1>(src);
  for (size_t i = 0; i < n / QK; ++i) {
    const float d = h2f(b[i].d), m = h2f(b[i].m);
    for (int j = 0; j < 16; ++j) {
      y[i * QK + j] = float(b[i].qs[j] & 0xF) * d + m;
      y[i * QK + j + 16] = float(b[i].qs[j] >> 4) * d + m;
    }
  }
}
void q4_1_from_float(const float* x, void* dst, size_t n) {
  BlockQ4_1* b = blocks<BlockQ4_1>(dst);
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    float mn, mx;
    min_max(x, QK, mn, mx);
    const float d = (mx - mn) / 15;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f2h(d);
    b[i].m = f2h(mn);
    for (int j = 0; j < 16; ++j) {
      const int lo = std::min(15, trunc8((x[j] - mn) * id + 0.5f));
      const int hi = std::min(15, trunc8((x[j + 16] - mn) * id + 0.5f));
      b[i].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}
float q4_1_dot(const void* w, const void* a, size_t n) {
  return chunked_dot(
      blocks<BlockQ4_1>(w), blocks<BlockQ8_1>(a), n / QK,
      [](const BlockQ4_1& b, int8_t* q) { unpack_block(b.qs, nullptr, 0, q); },
      [](const BlockQ4_1& x, const BlockQ8_1& y, int s) {
        return h2f(x.d) * h2f(y.d) * float(s) + h2f(x.m) * h2f(y.s);
      });
}

// ---- Q5_0: d * (q - 16), fifth bits in qh
void q5_0_to_float(const void* src, float* y, size_t n) {
  const BlockQ5_0* b = blocks<BlockQ5_0>(src);
  int8_t q[QK];
  for (size_t i = 0; i < n / QK; ++i) {
    const float d = h2f(b[i].d);
    unpack_block(b[i].qs, b[i].qh, 16, q);
    for (int j = 0; j < QK; ++j) y[i * QK + j] = float(q[j]) * d;
  }
}
void pack_q5(const int* l, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = uint8_t((l[j] & 0xF) | ((l[j + 16] & 0xF) << 4));
    qh |= uint32_t((l[j] & 0x10) >> 4) << j;
    qh |= uint32_t((l[j + 16] & 0x10) >> 4) << (j + 16);
  }
  std::memcpy(qh_bytes, &qh, 4);
}
void q5_0_from_float(const float* x, void* dst, size_t n) {
  BlockQ5_0* b = blocks<BlockQ5_0>(dst);
  int l[QK];
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    const float d = signed_absmax(x, QK) / -16;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f2h(d);
    for (int j = 0; j < QK; ++j) l[j] = uint8_t(std::min(31, trunc8(x[j] * id + 16.5f)));
    pack_q5(l, b[i].qs, b[i].qh);
  }
}
float q5_0_dot(const void* w, const void* a, size_t n) {
  return chunked_dot(
      blocks<BlockQ5_0>(w), blocks<BlockQ8_0>(a), n / QK,
      [](const BlockQ5_0& b, int8_t* q) { unpack_block(b.qs, b.qh, 16, q); },
      [](const BlockQ5_0& x, const BlockQ8_0& y, int s) { return float(s) * h2f(x.d) * h2f(y.d); });
}

// ---- Q5_1: d * q + m
void q5_1_to_float(const void* src, float* y, size_t n) {
  const BlockQ5_1* b = blocks<BlockQ5_1>(src);
  int8_t q[QK];
  for (size_t i = 0; i < n / QK; ++i) {
    const float d = h2f(b[i].d), m = h2f(b[i].m);
    unpack_block(b[i].qs, b[i].qh, 0, q);
    for (int j = 0; j < QK; ++j) y[i * QK + j] = float(q[j]) * d + m;
  }
}
void q5_1_from_float(const float* x, void* dst, size_t n) {
  BlockQ5_1* b = blocks<BlockQ5_1>(dst);
  int l[QK];
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    float mn, mx;
    min_max(x, QK, mn, mx);
    const float d = (mx - mn) / 31;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f2h(d);
    b[i].m = f2h(mn);
    // ggml casts straight to uint8_t here, without clamping.
    for (int j = 0; j < QK; ++j) l[j] = uint8_t(int((x[j] - mn) * id + 0.5f));
    pack_q5(l, b[i].qs, b[i].qh);
  }
}
float q5_1_dot(const void* w, const void* a, size_t n) {
  return chunked_dot(
      blocks<BlockQ5_1>(w), blocks<BlockQ8_1>(a), n / QK,
      [](const BlockQ5_1& b, int8_t* q) { unpack_block(b.qs, b.qh, 0, q); },
      [](const BlockQ5_1& x, const BlockQ8_1& y, int s) {
        return h2f(x.d) * h2f(y.d) * float(s) + h2f(x.m) * h2f(y.s);
      });
}

// ---- Q8_0 / Q8_1: d * q (Q8_1 also stores d * sum(q) for the min terms)
template <class B>
void q8_to_float(const void* src, float* y, size_t n) {
  const B* b = blocks<B>(src);
  for (size_t i = 0; i < n / QK; ++i) {
    const float d = h2f(b[i].d);
    for (int j = 0; j < QK; ++j) y[i * QK + j] = float(b[i].qs[j]) * d;
  }
}
// Returns d; rounds half away from zero (roundf), as the reference does.
inline float quantize_q8(const float* x, int8_t* qs) {
  float amax = 0;
  for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < QK; ++j) {
    // |x * id| <= 127 for finite rows; a NaN or infinity (a model gone wrong)
    // must not reach the int8 conversion, which would be undefined
    const float q = std::round(x[j] * id);
    qs[j] = q >= -127.0f && q <= 127.0f ? int8_t(q) : q > 0 ? int8_t(127) : int8_t(-128);
  }
  return d;
}
void q8_0_from_float(const float* x, void* dst, size_t n) {
  BlockQ8_0* b = blocks<BlockQ8_0>(dst);
  for (size_t i = 0; i < n / QK; ++i, x += QK) b[i].d = f2h(quantize_q8(x, b[i].qs));
}
void q8_1_from_float(const float* x, void* dst, size_t n) {
  BlockQ8_1* b = blocks<BlockQ8_1>(dst);
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    const float d = quantize_q8(x, b[i].qs);
    b[i].d = f2h(d);
    b[i].s = f2h(float(sum_i8(b[i].qs, QK)) * d);
  }
}
float q8_0_dot(const void* w, const void* a, size_t n) {
  return chunked_dot(
      blocks<BlockQ8_0>(w), blocks<BlockQ8_0>(a), n / QK,
      [](const BlockQ8_0& b, int8_t* q) { std::memcpy(q, b.qs, QK); },
      [](const BlockQ8_0& x, const BlockQ8_0& y, int s) { return float(s) * h2f(x.d) * h2f(y.d); });
}
float q8_1_dot(const void* w, const void* a, size_t n) {
  return chunked_dot(
      blocks<BlockQ8_1>(w), blocks<BlockQ8_1>(a), n / QK,
      [](const BlockQ8_1& b, int8_t* q) { std::memcpy(q, b.qs, QK); },
      [](const BlockQ8_1& x, const BlockQ8_1& y, int s) { return float(s) * h2f(x.d) * h2f(y.d); });
}

}  // namespace

void add_legacy_kernels(std::vector<Kernels>& out) {
  out.push_back({TypeId::Q4_0, TypeId::Q8_0, q4_0_to_float, q4_0_from_float, q4_0_dot});
  out.push_back({TypeId::Q4_1, TypeId::Q8_1, q4_1_to_float, q4_1_from_float, q4_1_dot});
  out.push_back({TypeId::Q5_0, TypeId::Q8_0, q5_0_to_float, q5_0_from_float, q5_0_dot});
  out.push_back({TypeId::Q5_1, TypeId::Q8_1, q5_1_to_float, q5_1_from_float, q5_1_dot});
  out.push_back({TypeId::Q8_0, TypeId::Q8_0, q8_to_float<BlockQ8_0>, q8_0_from_float, q8_0_dot});
  out.push_back({TypeId::Q8_1, TypeId::Q8_1, q8_to_float<BlockQ8_1>, q8_1_from_float, q8_1_dot});
}

}  // namespace tessel::ggml
