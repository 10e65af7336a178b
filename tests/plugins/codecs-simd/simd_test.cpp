// Every SIMD dot table this CPU can run (AVX2 maddubs, AVX-512 VNNI) against
// the scalar reference codecs, for every type in the table, 1..5 activation
// rows per call (so the 4-row tiles and every remainder run) and several
// row lengths (float tails, legacy rows that are not whole k-blocks).
// Weights are random quant bytes or extreme fills (all 0x00 / 0xFF / 0x80 /
// 0x7F: -128 int8 weights, the largest and most negative scales) with sane
// float scale fields; activations come from the activation codec's
// from_float on random and extreme rows (all +-127 quants, one spike).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "blocks.hpp"
#include "ggml_codecs.hpp"
#include "simd_dots.hpp"
#include "tessel/half.hpp"

using namespace tessel;
using namespace tessel::ggml;

namespace {

std::vector<Kernels> scalar_table() {
  std::vector<Kernels> ks;
  add_float_kernels(ks);
  add_legacy_kernels(ks);
  add_kquant_kernels(ks);
  return ks;
}
Kernels scalar_kernels(TypeId t) {
  for (const auto& k : scalar_table())
    if (k.type == t) return k;
  FAIL("no scalar kernels for type " << int(t));
  return {};
}

bool is_float(TypeId t) { return t == TypeId::F32 || t == TypeId::F16 || t == TypeId::BF16; }

// Byte offsets of a block's fp16 scale fields (d, dmin / m / s).
std::vector<size_t> half_fields(TypeId t) {
  switch (t) {
    case TypeId::Q4_0: case TypeId::Q5_0: case TypeId::Q8_0: return {0};
    case TypeId::Q4_1: case TypeId::Q5_1: case TypeId::Q8_1: return {0, 2};
    case TypeId::Q2_K: return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case TypeId::Q3_K: return {offsetof(BlockQ3_K, d)};
    case TypeId::Q4_K: return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case TypeId::Q5_K: return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case TypeId::Q6_K: return {offsetof(BlockQ6_K, d)};
    case TypeId::Q8_K: return {};  // float d, set below
    default: FAIL("no block layout for type " << type_name(t)); return {};
  }
}

// fill: -1 random bytes, else every byte = fill. Float types get values
// (random normal, or +-1e4 extremes when fill >= 0).
std::vector<std::byte> make_weights(TypeId t, size_t n, int fill, std::mt19937& rng) {
  const TypeTraits tr = *type_traits(t);
  std::vector<std::byte> w(n / tr.block_elems * tr.block_bytes);
  if (is_float(t)) {
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> x(n);
    for (size_t e = 0; e < n; ++e) x[e] = fill < 0 ? nd(rng) : (e % 3 ? 1e4f : -9999.f) + float(e % 7);
    scalar_kernels(t).from_float(x.data(), w.data(), n);
    return w;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = std::byte(fill < 0 ? byte(rng) : fill);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::bernoulli_distribution negative(0.3);
  for (size_t base = 0; base < w.size(); base += tr.block_bytes) {
    for (size_t off : half_fields(t)) {
      // mins (second field) may be negative in Q4_1 / Q5_1
      const float v = off != 0 && negative(rng) ? -scale(rng) : scale(rng);
      const uint16_t h = fp32_to_fp16(v);
      std::memcpy(w.data() + base + off, &h, 2);
    }
    if (t == TypeId::Q8_K) {
      const float d = scale(rng);
      std::memcpy(w.data() + base, &d, 4);
    }
  }
  return w;
}

// One activation row of n floats in pattern p (0..5).
std::vector<float> activation_row(size_t n, int p, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, p == 1 ? 100.f : 1.f);
  std::uniform_real_distribution<float> tiny(-1e-3f, 1e-3f);
  std::vector<float> x(n);
  for (size_t e = 0; e < n; ++e) {
    switch (p) {
      case 2: x[e] = 1.f; break;                    // every quant +-127
      case 3: x[e] = e % 2 ? 1.f : -1.f; break;     // alternating +-127
      case 4: x[e] = e % 32 == 5 ? 50.f : tiny(rng); break;  // one spike per block
      default: x[e] = nd(rng); break;
    }
  }
  return x;
}

// Tolerance: float accumulation-order differences, 1e-5 of sum |w * a|.
double tolerance(const Kernels& ref, const Kernels& act, const std::byte* w, const std::byte* a, size_t n) {
  std::vector<float> wf(n), af(n);
  ref.to_float(w, wf.data(), n);
  act.to_float(a, af.data(), n);
  double mag = 0;
  for (size_t e = 0; e < n; ++e) mag += std::fabs(double(wf[e]) * af[e]);
  return 1e-5 * mag + 1e-30;
}

void check_table(SimdIsa isa, const std::vector<SimdDot>& table) {
  for (const SimdDot& s : table) {
    const Kernels ref = scalar_kernels(s.type);
    const Kernels act = scalar_kernels(ref.dot_type);
    const size_t blk = type_traits(s.type)->block_elems;
    std::vector<size_t> lengths = {blk == 1 ? 4096 : 8 * std::max<size_t>(blk, QK_K), 3 * blk};
    if (blk == 1) lengths.insert(lengths.end(), {1, 7, 77, 1031});
    std::mt19937 rng(1234 + int(s.type));
    for (size_t n : lengths) {
      const size_t arow = row_bytes(ref.dot_type, int64_t(n));
      for (int fill : {-1, -1, 0x00, 0xFF, 0x80, 0x7F}) {
        INFO("isa " << int(isa) << " type " << type_name(s.type) << " n " << n << " fill " << fill);
        const auto w = make_weights(s.type, n, fill, rng);
        for (size_t n_act = 1; n_act <= 5; ++n_act) {
          std::vector<std::byte> a(arow * n_act);
          for (size_t r = 0; r < n_act; ++r)
            act.from_float(activation_row(n, int((r + n_act + size_t(fill)) % 6), rng).data(), a.data() + r * arow, n);
          std::vector<float> out(n_act * 3, -1.f);
          s.dot_rows(w.data(), a.data(), arow, n_act, n, out.data(), 3);
          for (size_t r = 0; r < n_act; ++r) {
            INFO("rows " << n_act << " row " << r);
            const std::byte* ar = a.data() + r * arow;
            const float want = ref.dot(w.data(), ar, n);
            const double tol = tolerance(ref, act, w.data(), ar, n);
            REQUIRE(std::isfinite(want));
            CHECK(std::fabs(out[r * 3] - want) <= tol);
            // bit for bit: a row's result does not depend on the rows beside it
            CHECK(out[r * 3] == s.dot(w.data(), ar, n));
            CHECK(out[r * 3 + 1] == -1.f);  // out_stride respected
            CHECK(out[r * 3 + 2] == -1.f);
          }
        }
        if (s.dot_weights) {  // 1..6 weight rows against one activation row, bit for bit dot()
          const size_t wrow = row_bytes(s.type, int64_t(n));
          std::vector<std::byte> ws;
          for (int k = 0; k < 6; ++k) {
            const auto wk = make_weights(s.type, n, k % 2 ? fill : -1, rng);
            ws.insert(ws.end(), wk.begin(), wk.end());
          }
          std::vector<std::byte> a(arow);
          act.from_float(activation_row(n, 0, rng).data(), a.data(), n);
          for (size_t n_w = 1; n_w <= 6; ++n_w) {
            std::vector<float> out(n_w + 1, -1.f);
            s.dot_weights(ws.data(), wrow, n_w, a.data(), n, out.data());
            for (size_t o = 0; o < n_w; ++o) {
              INFO("weight rows " << n_w << " row " << o);
              CHECK(out[o] == s.dot(ws.data() + o * wrow, a.data(), n));
            }
            CHECK(out[n_w] == -1.f);
          }
        }
      }
    }
  }
}

bool cpu_runs_vnni() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}
bool cpu_runs_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace

TEST_CASE("every ISA table covers every scalar codec type") {
  std::set<TypeId> scalar;
  for (const auto& k : scalar_table()) scalar.insert(k.type);
  for (SimdIsa isa : {SimdIsa::avx2, SimdIsa::vnni, SimdIsa::best}) {
    const auto table = simd_dots(isa);
    if (table.empty()) continue;  // not on this CPU
    std::set<TypeId> simd;
    for (const SimdDot& s : table) simd.insert(s.type);
    CHECK(simd == scalar);
    CHECK(simd.size() == table.size());
  }
}

TEST_CASE("the tables this CPU supports are present") {
  CHECK(simd_dots(SimdIsa::avx2).empty() == !cpu_runs_avx2());
  CHECK(simd_dots(SimdIsa::vnni).empty() == !(cpu_runs_avx2() && cpu_runs_vnni()));
  CHECK(simd_dots(SimdIsa::best).empty() == !cpu_runs_avx2());
}

TEST_CASE("AVX2 dots match the scalar codecs") { check_table(SimdIsa::avx2, simd_dots(SimdIsa::avx2)); }
TEST_CASE("AVX-512 VNNI dots match the scalar codecs") { check_table(SimdIsa::vnni, simd_dots(SimdIsa::vnni)); }

TEST_CASE("the codecs use the best SIMD dots") {
  const auto best = simd_dots();
  if (cpu_runs_vnni() && cpu_runs_avx2()) {
    const auto vnni = simd_dots(SimdIsa::vnni);
    REQUIRE(best.size() == vnni.size());
    for (size_t i = 0; i < best.size(); ++i) CHECK(best[i].dot == vnni[i].dot);
  }
  for (const SimdDot& s : best) {
    INFO("type " << type_name(s.type));
    const Codec* c = find_codec(s.type);
    REQUIRE(c != nullptr);
    const Kernels ref = scalar_kernels(s.type);
    std::mt19937 rng(7);
    const size_t n = 512;
    const auto w = make_weights(s.type, n, -1, rng);
    const size_t arow = row_bytes(ref.dot_type, int64_t(n));
    std::vector<std::byte> a(2 * arow);
    for (int r = 0; r < 2; ++r)
      scalar_kernels(ref.dot_type).from_float(activation_row(n, 0, rng).data(), a.data() + r * arow, n);
    CHECK(c->dot(w.data(), a.data(), n) == s.dot(w.data(), a.data(), n));
    float got[2], want[2];
    c->dot_rows(w.data(), a.data(), arow, 2, n, got, 1);
    s.dot_rows(w.data(), a.data(), arow, 2, n, want, 1);
    CHECK(got[0] == want[0]);
    CHECK(got[1] == want[1]);
  }
}
