// Every SIMD dot path (AVX2 maddubs, AVX512-VNNI, 1..4 rows per call) against
// the scalar reference codecs on random blocks: random quant bytes (every bit
// pattern, incl. -128 weights) with sane scales, activations from from_float.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "blocks.hpp"
#include "ggml_codecs.hpp"
#include "simd_dots.hpp"
#include "tessel/half.hpp"

using namespace tessel;
using namespace tessel::ggml;

namespace {

Kernels scalar_kernels(TypeId t) {
  std::vector<Kernels> ks;
  add_float_kernels(ks);
  add_legacy_kernels(ks);
  add_kquant_kernels(ks);
  for (const auto& k : ks)
    if (k.type == t) return k;
  FAIL("no scalar kernels for type " << int(t));
  return {};
}

// Random quant bytes with every half-precision scale field set to a sane value.
std::vector<std::byte> random_weights(TypeId t, size_t n, std::mt19937& rng) {
  const TypeTraits tr = *type_traits(t);
  const size_t nb = n / tr.block_elems;
  std::vector<std::byte> w(nb * tr.block_bytes);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = std::byte(byte(rng));
  std::uniform_real_distribution<float> sc(0.001f, 0.05f);
  auto set_half = [&](size_t off) {
    const uint16_t h = fp32_to_fp16(sc(rng));
    std::memcpy(w.data() + off, &h, 2);
  };
  for (size_t i = 0; i < nb; ++i) {
    const size_t base = i * tr.block_bytes;
    switch (t) {
      case TypeId::Q8_0: case TypeId::Q4_0: set_half(base); break;
      case TypeId::Q4_K: set_half(base + offsetof(BlockQ4_K, d)); set_half(base + offsetof(BlockQ4_K, dmin)); break;
      case TypeId::Q6_K: set_half(base + offsetof(BlockQ6_K, d)); break;
      case TypeId::F16: {
        std::normal_distribution<float> nd(0.f, 1.f);
        for (size_t e = 0; e < n; ++e) {
          const uint16_t h = fp32_to_fp16(nd(rng));
          std::memcpy(w.data() + 2 * e, &h, 2);
        }
        return w;
      }
      default: FAIL("no random weights for type " << int(t));
    }
  }
  return w;
}

}  // namespace

TEST_CASE("SIMD dots match the scalar codecs on random blocks") {
  const size_t n = 1024, n_act = 7;
  for (SimdIsa isa : {SimdIsa::best, SimdIsa::avx2, SimdIsa::vnni}) {
    for (const SimdDot& s : simd_dots(isa)) {
      INFO("isa " << int(isa) << " type " << type_name(s.type));
      const Kernels ref = scalar_kernels(s.type);
      const Kernels act = scalar_kernels(ref.dot_type);
      std::mt19937 rng(1234 + int(s.type));
      for (int trial = 0; trial < 8; ++trial) {
        const auto w = random_weights(s.type, n, rng);
        const size_t arow = row_bytes(ref.dot_type, int64_t(n));
        std::vector<std::byte> a(arow * n_act);
        std::normal_distribution<float> nd(0.f, trial % 2 ? 1.f : 100.f);
        std::vector<float> x(n), wf(n), af(n);
        for (size_t r = 0; r < n_act; ++r) {
          for (auto& v : x) v = nd(rng);
          act.from_float(x.data(), a.data() + r * arow, n);
        }
        ref.to_float(w.data(), wf.data(), n);
        std::vector<float> out(n_act * 3, -1.f);
        s.dot_rows(w.data(), a.data(), arow, n_act, n, out.data(), 3);
        for (size_t r = 0; r < n_act; ++r) {
          const float want = ref.dot(w.data(), a.data() + r * arow, n);
          // bound on float accumulation-order differences: 1e-5 of sum |w*a|
          act.to_float(a.data() + r * arow, af.data(), n);
          double mag = 0;
          for (size_t e = 0; e < n; ++e) mag += std::fabs(double(wf[e]) * af[e]);
          const double tol = 1e-5 * mag + 1e-30;
          CHECK(std::fabs(s.dot(w.data(), a.data() + r * arow, n) - want) <= tol);
          CHECK(std::fabs(out[r * 3] - want) <= tol);
          CHECK(out[r * 3 + 1] == -1.f);  // stride respected
        }
        // a lone row (n_act = 1) and a partial tile (n_act = 3)
        float one = 0;
        s.dot_rows(w.data(), a.data(), arow, 1, n, &one, 1);
        CHECK(one == s.dot(w.data(), a.data(), n));
      }
    }
  }
}

TEST_CASE("the codecs use the SIMD dots this build has") {
  const auto best = simd_dots();
#if defined(__AVX2__)
  REQUIRE(best.size() >= 4);
#endif
  for (const SimdDot& s : best) {
    const Codec* c = find_codec(s.type);
    REQUIRE(c != nullptr);
    const Kernels ref = scalar_kernels(s.type);
    std::mt19937 rng(7);
    const size_t n = 512;
    const auto w = random_weights(s.type, n, rng);
    std::vector<std::byte> a(row_bytes(ref.dot_type, int64_t(n)));
    std::vector<float> x(n, 0.5f);
    scalar_kernels(ref.dot_type).from_float(x.data(), a.data(), n);
    CHECK(c->dot(w.data(), a.data(), n) == s.dot(w.data(), a.data(), n));
  }
}
