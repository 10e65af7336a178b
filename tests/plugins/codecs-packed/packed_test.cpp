// The packed (row-interleaved) kernels against the scalar reference codecs:
// same products for every row and activation row, incl. a partial last group,
// split output ranges, single-row decode tiles and round-half-away ties in
// the activation quantization.
#include <cpuid.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "ggml_codecs.hpp"
#include "packed.hpp"
#include "tessel/half.hpp"
#include "tessel/types.hpp"

using namespace tessel;
using namespace tessel::ggml;

namespace {

Kernels scalar(TypeId t) {
  std::vector<Kernels> ks;
  add_legacy_kernels(ks);
  add_kquant_kernels(ks);
  add_float_kernels(ks);
  for (const auto& k : ks)
    if (k.type == t) return k;
  FAIL("no scalar kernels for type " << int(t));
  return {};
}

bool cpu_has_vnni() {
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}
bool cpu_has_avx2() {
  unsigned a = 0, b = 0, c = 0, d = 0;  // F16C by CPUID: clang 14 has no "f16c" for __builtin_cpu_supports
  const bool f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

// Real quantized weights: random floats through the reference quantizer.
std::vector<std::byte> weights(TypeId t, size_t n_out, size_t n_in, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> f(n_out * n_in);
  for (auto& v : f) v = nd(rng);
  const Kernels k = scalar(t);
  const size_t row = row_bytes(t, int64_t(n_in));
  std::vector<std::byte> w(row * n_out);
  for (size_t o = 0; o < n_out; ++o) k.from_float(f.data() + o * n_in, w.data() + o * row, n_in);
  return w;
}

void check(TypeId t, size_t n_out, size_t n_in, size_t n_act) {
  std::mt19937 rng(unsigned(n_out * 131 + n_in * 7 + n_act));
  const auto w = weights(t, n_out, n_in, rng);
  auto packed = pack_matrix(t, w.data(), n_out, n_in);
  if (!packed) {  // this CPU's packed kernels do not cover t
    REQUIRE_FALSE(cpu_has_vnni());
    return;
  }
  const size_t group = packed->row_group();  // 16 with AVX-512 VNNI, 8 with AVX2
  REQUIRE((group == 16 || group == 8));
  INFO(type_name(t) << " packed in groups of " << group);

  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(n_act * n_in);
  for (auto& v : x) v = nd(rng);
  // First block of row 0: amax 127 gives scale 1, so x.5 values are exact
  // ties that ggml's roundf sends away from zero.
  for (size_t i = 0; i < 32 && i < n_in; ++i) x[i] = i == 0 ? 127.0f : float(int(i) - 16) + 0.5f;

  const Kernels k = scalar(t), ak = scalar(k.dot_type);
  const size_t arow = row_bytes(k.dot_type, int64_t(n_in)), wrow = row_bytes(t, int64_t(n_in));
  std::vector<std::byte> aref(arow);
  std::vector<float> expect(n_act * n_out);
  for (size_t r = 0; r < n_act; ++r) {
    ak.from_float(x.data() + r * n_in, aref.data(), n_in);
    for (size_t o = 0; o < n_out; ++o) expect[r * n_out + o] = k.dot(w.data() + o * wrow, aref.data(), n_in);
  }

  std::vector<std::byte> act(packed->act_bytes() * n_act);
  for (size_t r = 0; r < n_act; ++r) packed->quantize_act(x.data() + r * n_in, act.data() + r * packed->act_bytes());
  std::vector<float> got(n_act * n_out, NAN);
  const size_t split = n_out > group ? group : n_out;  // two ranges, as two threads would
  packed->multiply(act.data(), n_act, 0, split, got.data(), n_out);
  if (split < n_out) packed->multiply(act.data(), n_act, split, n_out, got.data(), n_out);

  // Decode equals batch: each activation row alone gives the same bits.
  std::vector<float> alone(n_out);
  for (size_t r = 0; r < n_act; ++r) {
    packed->multiply(act.data() + r * packed->act_bytes(), 1, 0, n_out, alone.data(), n_out);
    INFO(type_name(t) << " row " << r << " alone vs in a batch of " << n_act);
    REQUIRE(std::memcmp(alone.data(), got.data() + r * n_out, n_out * sizeof(float)) == 0);
  }

  for (size_t r = 0; r < n_act; ++r)
    for (size_t o = 0; o < n_out; ++o) {
      const float e = expect[r * n_out + o], g = got[r * n_out + o];
      INFO(type_name(t) << " n_out " << n_out << " n_in " << n_in << " row " << r << " out " << o);
      REQUIRE(std::fabs(g - e) <= 2e-5f * (std::fabs(e) + std::sqrt(float(n_in))));
    }
}

}  // namespace

TEST_CASE("packed kernels match the scalar codecs (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K .. Q6_K)", "[packed]") {
  if (!cpu_has_vnni() && !cpu_has_avx2()) {
    REQUIRE(pack_matrix(TypeId::Q4_0, nullptr, 16, 32) == nullptr);  // no packed kernels on this CPU
    return;
  }

  for (TypeId t : {TypeId::Q8_0, TypeId::Q4_0, TypeId::Q4_1, TypeId::Q5_0, TypeId::Q5_1, TypeId::Q2_K, TypeId::Q3_K,
                   TypeId::Q4_K, TypeId::Q5_K, TypeId::Q6_K})
    for (size_t n_out : {16, 37, 64})
      for (size_t n_act : {1, 3, 8, 13, 70}) check(t, n_out, 512, n_act);
  check(TypeId::Q8_0, 48, 32, 9);  // one block per row: groups of odd size stay aligned
  check(TypeId::Q4_0, 20, 96, 2);
}

// F32 / F16 / BF16 (AVX2 layout, 16 rows): one float chain per output, so decode
// equals batch for every tile width (6, 4, 2, 1) and group count (4 side by
// side in decode, then the rest one at a time).
TEST_CASE("packed float kernels match the scalar codecs (F32, F16, BF16)", "[packed]") {
  if (cpu_has_vnni() || !cpu_has_avx2()) {  // AVX-512 CPUs keep their 16-lane row dots
    CHECK(pack_matrix(TypeId::F16, nullptr, 16, 32) == nullptr);
    return;
  }
  std::vector<std::byte> w(16 * 544 * 4);
  for (TypeId t : {TypeId::F32, TypeId::F16, TypeId::BF16})  // or check() below tests nothing
    REQUIRE(pack_matrix(t, w.data(), 16, 544) != nullptr);
  for (TypeId t : {TypeId::F32, TypeId::F16, TypeId::BF16})
    for (size_t n_out : {16, 37, 80, 144})
      for (size_t n_act : {1, 5, 6, 13, 70}) check(t, n_out, 544, n_act);
  CHECK(pack_matrix(TypeId::F16, w.data(), 16, 48) == nullptr);  // rows not whole 32-element blocks
}

TEST_CASE("packing refuses rows that are not whole blocks", "[packed]") {
  std::vector<std::byte> w(1024);
  CHECK(pack_matrix(TypeId::Q4_K, w.data(), 2, 100) == nullptr);
  CHECK(pack_matrix(TypeId::F32, w.data(), 2, 40) == nullptr);
}

// NaN activations (a model gone wrong) must stay in their own row: the
// quantizers clamp NaN's INT_MIN conversion so the block sums cannot overflow
// (signed overflow in GCC's _mm512_reduce_add_epi32, caught by its UBSan),
// and a finite row batched with NaN rows gives exactly what it gives alone.
TEST_CASE("NaN activation rows neither overflow nor leak into other rows", "[packed]") {
  if (!cpu_has_vnni() && !cpu_has_avx2()) return;
  for (TypeId t : {TypeId::Q8_0, TypeId::Q4_0, TypeId::Q4_1, TypeId::Q5_0, TypeId::Q5_1, TypeId::Q2_K, TypeId::Q3_K,
                   TypeId::Q4_K, TypeId::Q6_K}) {
    INFO(type_name(t));
    const size_t n_out = 16, n_in = 512;
    std::mt19937 rng(7);
    const auto w = weights(t, n_out, n_in, rng);
    auto packed = pack_matrix(t, w.data(), n_out, n_in);
    if (!packed) continue;
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(3 * n_in);
    for (auto& v : x) v = nd(rng);
    for (size_t i = 0; i < n_in; ++i) x[i] = NAN;                  // row 0: all NaN
    for (size_t i = n_in; i < 2 * n_in; i += 3) x[i] = NAN;        // row 1: every third value NaN
    std::vector<std::byte> act(packed->act_bytes() * 3);
    for (size_t r = 0; r < 3; ++r) packed->quantize_act(x.data() + r * n_in, act.data() + r * packed->act_bytes());
    std::vector<float> got(3 * n_out), alone(n_out);
    packed->multiply(act.data(), 3, 0, n_out, got.data(), n_out);
    packed->multiply(act.data() + 2 * packed->act_bytes(), 1, 0, n_out, alone.data(), n_out);
    CHECK(std::memcmp(alone.data(), got.data() + 2 * n_out, n_out * sizeof(float)) == 0);
    for (float v : alone) CHECK(std::isfinite(v));
  }
}

// The scalar Q8 quantizers (activations of the row-dot paths) meet the same
// non-finite rows: no undefined int8 conversion (UBSan: float-cast-overflow,
// found by the model-load fuzz target), and finite blocks beside them stay exact.
TEST_CASE("scalar Q8 quantizers take NaN and infinite values", "[packed]") {
  for (TypeId t : {TypeId::Q8_0, TypeId::Q8_1}) {
    INFO(type_name(t));
    const Codec& k = *ggml::find_codec(t);
    std::vector<float> x(4 * 32);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 32) - 16) / 8.0f;
    x[3] = NAN;                                    // block 0: one NaN
    x[32 + 5] = INFINITY;                          // block 1: +inf
    for (size_t i = 64; i < 96; ++i) x[i] = NAN;  // block 2: all NaN; block 3 finite
    std::vector<std::byte> enc(x.size() / k.block_elems() * k.block_bytes()), ref(k.block_bytes());
    k.from_float(x.data(), enc.data(), x.size());
    k.from_float(x.data() + 96, ref.data(), 32);
    CHECK(std::memcmp(enc.data() + 3 * k.block_bytes(), ref.data(), k.block_bytes()) == 0);
  }
}

// A NaN must not hide the block's largest value from the packed Q8
// activation quantizers: max_ps with the running max first let a NaN lane
// forget what came before it, the block was scaled by too small an amax and
// its quants overflowed (UBSan: 8 * sum in the AVX2 Q4_0 tile, found by the
// model-load fuzz target). Packed and scalar now agree on such rows. The
// Q8_K activations of the K-quants had the same operand order (no overflow
// there, their quants clamp, but a different scale from the scalar codec).
TEST_CASE("packed Q8 activations of rows with NaN match the scalar codecs", "[packed]") {
  for (TypeId t : {TypeId::Q8_0, TypeId::Q4_0, TypeId::Q6_K}) {
    const size_t n_out = 16, n_in = t == TypeId::Q6_K ? 256 : 64, wrow = row_bytes(t, int64_t(n_in));
    // Weights of 0 where x is NaN: what a NaN's quant contributes is not the
    // point (the SIMD dots treat an activation quant of -128 differently).
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> wf(n_out * n_in);
    for (size_t i = 0; i < wf.size(); ++i) wf[i] = i % n_in == 8 || i % n_in == 16 ? 0.0f : nd(rng);
    std::vector<std::byte> w(wrow * n_out);
    for (size_t o = 0; o < n_out; ++o) scalar(t).from_float(wf.data() + o * n_in, w.data() + o * wrow, n_in);
    std::vector<float> x(n_in);
    for (size_t i = 0; i < n_in; ++i) x[i] = 0.01f * float(int(i % 7) - 3);
    x[0] = 100.0f;           // block 0's largest value, lane 0
    x[8] = x[16] = NAN;      // later in lane 0 (AVX2: 8 floats, AVX-512: 16)
    const Kernels k = scalar(t), ak = scalar(k.dot_type);
    std::vector<std::byte> aref(row_bytes(k.dot_type, int64_t(n_in)));
    ak.from_float(x.data(), aref.data(), n_in);
    for (int avx2 = 0; avx2 < 2; ++avx2) {
      auto packed = avx2 ? pack_matrix_avx2(t, w.data(), n_out, n_in) : pack_matrix(t, w.data(), n_out, n_in);
      if (!packed) continue;  // this CPU has no such kernels
      std::vector<std::byte> act(packed->act_bytes());
      packed->quantize_act(x.data(), act.data());
      std::vector<float> got(n_out);
      packed->multiply(act.data(), 1, 0, n_out, got.data(), n_out);
      for (size_t o = 0; o < n_out; ++o) {
        const float e = k.dot(w.data() + o * wrow, aref.data(), n_in);
        INFO(type_name(t) << (avx2 ? " AVX2" : " AVX-512") << " out " << o << ": " << got[o] << " vs " << e);
        REQUIRE(std::fabs(got[o] - e) <= 2e-5f * (std::fabs(e) + std::sqrt(float(n_in))));
      }
    }
  }
}
