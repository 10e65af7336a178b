// Each sampler stage against hand-made logits (kept sets and probabilities as
// llama.cpp's stages produce them), and seed reproducibility.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "tessel/error.hpp"
#include "tessel/sampler.hpp"

using namespace tessel;
namespace smp = tessel::sampling;

namespace {

std::vector<TokenId> ids(const Candidates& c) {
  std::vector<TokenId> v;
  for (const auto& t : c.data) v.push_back(t.id);
  return v;
}

// Logits whose softmax is exactly `probs` (up to float rounding).
Candidates from_probs(const std::vector<float>& probs) {
  std::vector<float> l;
  for (float p : probs) l.push_back(std::log(p));
  return Candidates::from_logits(l);
}

}  // namespace

TEST_CASE("penalties: repeat divides positive and multiplies negative logits, then frequency and presence") {
  auto c = Candidates::from_logits(std::vector<float>{2.0f, -1.0f, 0.5f, 3.0f});
  c.sorted = true;
  smp::penalties(c, {{0, 2}, {1, 1}}, 2.0f, 0.5f, 0.25f);
  CHECK(c.data[0].logit == Approx(2.0f / 2 - (2 * 0.5f + 0.25f)));  // -0.25
  CHECK(c.data[1].logit == Approx(-1.0f * 2 - (0.5f + 0.25f)));      // -2.75
  CHECK(c.data[2].logit == 0.5f);
  CHECK(c.data[3].logit == 3.0f);
  CHECK_FALSE(c.sorted);
}

TEST_CASE("penalties: neutral settings change nothing") {
  auto c = Candidates::from_logits(std::vector<float>{2.0f, -1.0f});
  smp::penalties(c, {{0, 3}}, 1.0f, 0.0f, 0.0f);
  CHECK(c.data[0].logit == 2.0f);
}

TEST_CASE("top-k keeps the k best in descending order") {
  auto c = Candidates::from_logits(std::vector<float>{1, 5, 3, 4});
  smp::top_k(c, 2);
  CHECK(ids(c) == std::vector<TokenId>{1, 3});
  CHECK(c.sorted);

  auto all = Candidates::from_logits(std::vector<float>{1, 5, 3, 4});
  smp::top_k(all, 0);  // off
  CHECK(ids(all) == std::vector<TokenId>{0, 1, 2, 3});
  CHECK_FALSE(all.sorted);
  smp::top_k(all, 99);  // more than there are: all, sorted
  CHECK(ids(all) == std::vector<TokenId>{1, 3, 2, 0});
}

TEST_CASE("top-p keeps the smallest prefix whose mass reaches p") {
  const std::vector<float> probs{0.5f, 0.3f, 0.15f, 0.05f};
  auto c = from_probs(probs);
  smp::top_p(c, 0.75f);
  CHECK(ids(c) == std::vector<TokenId>{0, 1});
  CHECK(c.data[0].p == Approx(0.5f));
  CHECK(c.data[1].p == Approx(0.3f));

  auto d = from_probs(probs);
  smp::top_p(d, 0.85f);
  CHECK(ids(d) == std::vector<TokenId>{0, 1, 2});

  auto off = from_probs(probs);
  smp::top_p(off, 1.0f);
  CHECK(off.size() == 4);

  auto shuffled = Candidates::from_logits(std::vector<float>{std::log(0.15f), std::log(0.5f),
                                                             std::log(0.05f), std::log(0.3f)});
  smp::top_p(shuffled, 0.6f);
  CHECK(ids(shuffled) == std::vector<TokenId>{1, 3});
  CHECK(shuffled.sorted);
}

TEST_CASE("min-p keeps tokens with p >= min_p * p_max, in the current order when unsorted") {
  // ids 0..3 with probs 0.15, 0.5, 0.05, 0.3; min_p 0.2 → threshold 0.1
  auto c = Candidates::from_logits(std::vector<float>{std::log(0.15f), std::log(0.5f),
                                                      std::log(0.05f), std::log(0.3f)});
  smp::min_p(c, 0.2f);
  CHECK(ids(c) == std::vector<TokenId>{0, 1, 3});
  CHECK_FALSE(c.sorted);

  auto s = Candidates::from_logits(std::vector<float>{std::log(0.15f), std::log(0.5f),
                                                      std::log(0.05f), std::log(0.3f)});
  smp::top_k(s, 4);  // sorted path
  smp::min_p(s, 0.5f);  // threshold 0.25
  CHECK(ids(s) == std::vector<TokenId>{1, 3});

  auto off = from_probs({0.9f, 0.1f});
  smp::min_p(off, 0.0f);
  CHECK(off.size() == 2);
}

TEST_CASE("typical keeps the tokens closest to the entropy until their mass exceeds p") {
  // probs 0.5 0.3 0.15 0.05: entropy 1.1421; |-log p - H| = 0.449, 0.062, 0.755, 1.854
  auto c = from_probs({0.5f, 0.3f, 0.15f, 0.05f});
  smp::typical(c, 0.5f);
  CHECK(ids(c) == std::vector<TokenId>{1, 0});
  CHECK_FALSE(c.sorted);

  auto one = from_probs({0.5f, 0.3f, 0.15f, 0.05f});
  smp::typical(one, 0.2f);
  CHECK(ids(one) == std::vector<TokenId>{1});

  auto three = from_probs({0.5f, 0.3f, 0.15f, 0.05f});
  smp::typical(three, 0.9f);
  CHECK(ids(three) == std::vector<TokenId>{1, 0, 2});
}

TEST_CASE("temperature scales logits; zero keeps only the first maximum") {
  auto c = Candidates::from_logits(std::vector<float>{1.0f, -2.0f, 4.0f});
  smp::temperature(c, 0.5f);
  CHECK(c.data[0].logit == 2.0f);
  CHECK(c.data[1].logit == -4.0f);
  CHECK(c.data[2].logit == 8.0f);

  auto g = Candidates::from_logits(std::vector<float>{1.0f, 4.0f, 4.0f, 2.0f});
  smp::temperature(g, 0.0f);
  CHECK(g.data[1].logit == 4.0f);
  CHECK(std::isinf(g.data[0].logit));
  CHECK(std::isinf(g.data[2].logit));
  CHECK(std::isinf(g.data[3].logit));
}

TEST_CASE("softmax gives normalised probabilities") {
  auto c = Candidates::from_logits(std::vector<float>{0.0f, std::log(3.0f)});
  smp::softmax(c, false);
  CHECK(c.data[0].p == Approx(0.25f));
  CHECK(c.data[1].p == Approx(0.75f));
}

TEST_CASE("draw: one uniform double per draw, walking the cumulative mass") {
  const std::vector<float> logits{0.0f, std::log(3.0f)};  // p = 0.25, 0.75
  std::mt19937 rng(1234), mirror(1234);
  for (int i = 0; i < 50; ++i) {
    auto c = Candidates::from_logits(logits);
    int got = smp::draw(c, rng);
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(mirror);
    CHECK(got == (u <= 0.25 ? 0 : 1));
    CHECK(c.data[0].p == Approx(0.25f));
  }
}

TEST_CASE("draw: a single candidate uses no random number") {
  std::mt19937 rng(7), fresh(7);
  auto c = Candidates::from_logits(std::vector<float>{3.0f});
  CHECK(smp::draw(c, rng) == 0);
  CHECK(c.data[0].p == 1.0f);
  CHECK(rng() == fresh());
}

TEST_CASE("Sampler: greedy picks the argmax after penalties") {
  SamplerSpec spec;
  spec.temperature = 0.0f;
  spec.repeat_penalty = 4.0f;
  spec.repeat_last_n = 2;
  Sampler s(spec, 512);
  const std::vector<float> logits{1.0f, 3.0f, 2.0f};
  CHECK(s.sample(logits) == 1);
  s.accept(1);  // 3 / 4 = 0.75 now: token 2 wins
  CHECK(s.sample(logits) == 2);
  s.accept(2);
  s.accept(0);  // window [2, 0]: token 1 left the window
  CHECK(s.sample(logits) == 1);
}

TEST_CASE("Sampler: banned tokens are never drawn") {
  SamplerSpec spec;
  spec.temperature = 0.0f;
  Sampler s(spec, 512);
  s.ban(1);
  CHECK(s.sample(std::vector<float>{1.0f, 3.0f, 2.0f}) == 2);
}

TEST_CASE("Sampler: the same seed gives the same tokens, another seed others") {
  std::vector<float> logits(64);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(std::sin(double(i)) * 2.0);
  SamplerSpec spec;
  spec.temperature = 1.5f;
  spec.top_k = 0;
  spec.top_p = 1.0f;
  spec.min_p = 0.0f;
  auto run = [&](uint64_t seed) {
    spec.seed = seed;
    Sampler s(spec, 512);
    std::vector<TokenId> out;
    for (int i = 0; i < 40; ++i) {
      out.push_back(s.sample(logits));
      s.accept(out.back());
    }
    return out;
  };
  const auto a = run(42), b = run(42), c = run(43);
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("Sampler: full chain keeps top-k ∩ top-p ∩ min-p and renormalises") {
  SamplerSpec spec;
  spec.temperature = 1.0f;
  spec.top_k = 3;
  spec.top_p = 0.9f;
  spec.min_p = 0.25f;
  spec.seed = 5;
  Sampler s(spec, 512);
  // probs 0.4 0.3 0.1 0.12 0.08: top-k 3 → {0,1,3}; top-p .9 of (0.4/0.82, 0.3/0.82, 0.12/0.82)
  // needs all three; min-p .25 × p(0) = 0.1 (in the original scale 0.4 × .25 = 0.1) → 3 stays (0.12)
  std::vector<float> logits;
  for (float p : {0.4f, 0.3f, 0.1f, 0.12f, 0.08f}) logits.push_back(std::log(p));
  const TokenId t = s.sample(logits);
  const auto& c = s.last_candidates();
  CHECK(ids(c) == std::vector<TokenId>{0, 1, 3});
  CHECK(c.data[0].p == Approx(0.4f / 0.82f));
  CHECK(c.data[2].p == Approx(0.12f / 0.82f));
  CHECK((t == 0 || t == 1 || t == 3));
}

TEST_CASE("Sampler: invalid settings are errors") {
  SamplerSpec spec;
  spec.seed = uint64_t(1) << 40;
  CHECK_THROWS_AS(Sampler(spec, 512), Error);
  SamplerSpec bad;
  bad.repeat_last_n = -5;
  CHECK_THROWS_AS(Sampler(bad, 512), Error);
}
