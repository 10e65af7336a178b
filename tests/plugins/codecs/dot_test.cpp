// dot() against the dequantized operands, and from_float sanity for every type.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "ggml_codecs.hpp"
#include "tessel/half.hpp"

using namespace tessel;

namespace {

std::vector<float> random_row(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

struct Encoded {
  std::vector<std::byte> bytes;
  std::vector<float> decoded;
};
Encoded encode(const Codec& c, const std::vector<float>& x) {
  Encoded e;
  e.bytes.resize(x.size() / c.block_elems() * c.block_bytes());
  c.from_float(x.data(), e.bytes.data(), x.size());
  e.decoded.resize(x.size());
  c.to_float(e.bytes.data(), e.decoded.data(), x.size());
  return e;
}

}  // namespace

TEST_CASE("every ggml codec is served with its block geometry") {
  const char* names[] = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                         "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"};
  CHECK(ggml::all_codecs().size() == 15);
  for (const char* n : names) {
    INFO(n);
    const Codec* c = ggml::find_codec(*type_from_name(n));
    REQUIRE(c);
    CHECK(c->block_elems() == type_traits(c->type())->block_elems);
    CHECK(c->block_bytes() == type_traits(c->type())->block_bytes);
    REQUIRE(ggml::find_codec(c->dot_type()));
  }
  CHECK(ggml::find_codec(TypeId::Q4_0)->dot_type() == TypeId::Q8_0);
  CHECK(ggml::find_codec(TypeId::Q5_1)->dot_type() == TypeId::Q8_1);
  CHECK(ggml::find_codec(TypeId::Q3_K)->dot_type() == TypeId::Q8_K);
  CHECK(ggml::find_codec(TypeId::BF16)->dot_type() == TypeId::BF16);
  CHECK_THROWS(ggml::find_codec(TypeId::Q4_K)->to_float(nullptr, nullptr, 100));
}

TEST_CASE("dot matches the dot product of the decoded operands") {
  for (const Codec* c : ggml::all_codecs()) {
    const Codec& act = *ggml::find_codec(c->dot_type());
    // Odd lengths exercise the tails: 35 blocks of 32 (not a multiple of the
    // 8-block chunks), 1125 floats (not a multiple of the 16 lanes).
    const size_t n = c->block_elems() == 256 ? 1024 : c->block_elems() == 32 ? 1120 : 1125;
    INFO(type_name(c->type()) << " x " << type_name(act.type()));
    for (uint32_t seed = 1; seed <= 4; ++seed) {
      // Offset weights exercise the Q4_1/Q5_1/k-quant mins.
      auto w = random_row(n, seed, 0.05f);
      if (seed % 2 == 0)
        for (auto& x : w) x += 0.03f;
      const auto a = random_row(n, seed + 100, 1.5f);
      const Encoded we = encode(*c, w), ae = encode(act, a);
      double ref = 0, mag = 0;
      for (size_t i = 0; i < n; ++i) {
        ref += double(we.decoded[i]) * double(ae.decoded[i]);
        mag += std::fabs(double(we.decoded[i]) * double(ae.decoded[i]));
      }
      if (c->type() == TypeId::Q4_1 || c->type() == TypeId::Q5_1) {
        // ggml's min term uses the activation block's stored fp16 sum s, not
        // the sum of its decoded values; the reference does the same.
        for (size_t b = 0; b < n / 32; ++b) {  // n is a multiple of 32 here
          uint16_t m16, s16;
          std::memcpy(&m16, we.bytes.data() + b * c->block_bytes() + 2, 2);
          std::memcpy(&s16, ae.bytes.data() + b * 36 + 2, 2);
          double asum = 0;
          for (size_t i = 0; i < 32; ++i) asum += ae.decoded[b * 32 + i];
          const double m = fp16_to_fp32(m16);
          ref += m * (double(fp16_to_fp32(s16)) - asum);
          mag += std::fabs(m * fp16_to_fp32(s16));
        }
      }
      const float got = c->dot(we.bytes.data(), ae.bytes.data(), n);
      INFO("seed " << seed << " got " << got << " ref " << ref << " mag " << mag);
      CHECK(std::fabs(double(got) - ref) <= 1e-5 * mag);
    }
  }
}

TEST_CASE("from_float round trips within each type's precision") {
  const size_t n = 2048;
  const auto x = random_row(n, 7, 0.1f);
  double energy = 0;
  for (float v : x) energy += double(v) * v;
  // Relative RMS error bound per type (a coarse sanity check; byte-exactness
  // against llama-quantize is tested on the golden files).
  const std::pair<TypeId, double> bounds[] = {
      {TypeId::F32, 0},     {TypeId::F16, 1e-3},  {TypeId::BF16, 5e-3}, {TypeId::Q8_0, 0.01},
      {TypeId::Q8_1, 0.01}, {TypeId::Q8_K, 0.01}, {TypeId::Q6_K, 0.03}, {TypeId::Q5_0, 0.06},
      {TypeId::Q5_1, 0.06}, {TypeId::Q5_K, 0.06}, {TypeId::Q4_0, 0.12}, {TypeId::Q4_1, 0.12},
      {TypeId::Q4_K, 0.12}, {TypeId::Q3_K, 0.25}, {TypeId::Q2_K, 0.5}};
  for (auto [t, bound] : bounds) {
    INFO(type_name(t));
    const Encoded e = encode(*ggml::find_codec(t), x);
    double err = 0;
    for (size_t i = 0; i < n; ++i) err += (double(e.decoded[i]) - x[i]) * (double(e.decoded[i]) - x[i]);
    CHECK(std::sqrt(err / energy) <= bound);
    // An all-zero row encodes to zeros and decodes to exact zeros.
    const Encoded z = encode(*ggml::find_codec(t), std::vector<float>(n, 0.f));
    for (float v : z.decoded) REQUIRE(v == 0.f);
  }
}
