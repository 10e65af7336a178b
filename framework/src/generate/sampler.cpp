// The sampler chain. Each stage keeps llama.cpp's rules (src/llama-sampling.cpp):
// which tokens survive, when the list counts as sorted, and how many random
// numbers a draw consumes — the last one decides whether a seed reproduces
// llama.cpp's choices, so it is mirrored exactly.
#include "tessel/sampler.hpp"

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>

#include "tessel/error.hpp"

namespace tessel {

Candidates Candidates::from_logits(std::span<const float> logits) {
  Candidates c;
  c.data.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) c.data[i] = {TokenId(i), logits[i], 0.0f};
  return c;
}

namespace sampling {
namespace {

bool by_logit_desc(const CandidateToken& a, const CandidateToken& b) { return a.logit > b.logit; }

// Keeps the n best (by logit) in descending order; the list counts as sorted after.
void sort_top(Candidates& c, size_t n) {
  n = std::min(n, c.size());
  std::partial_sort(c.data.begin(), c.data.begin() + n, c.data.end(), by_logit_desc);
  c.data.resize(n);
  c.sorted = true;
}

}  // namespace

void softmax(Candidates& c, bool do_sort) {
  if (c.data.empty()) return;
  if (do_sort && !c.sorted) sort_top(c, c.size());
  float max_l = c.data[0].logit;
  if (!c.sorted)
    for (const auto& t : c.data) max_l = std::max(max_l, t.logit);
  float sum = 0.0f;
  for (auto& t : c.data) {
    t.p = std::exp(t.logit - max_l);
    sum += t.p;
  }
  for (auto& t : c.data) t.p /= sum;
}

void penalties(Candidates& c, const std::unordered_map<TokenId, int>& token_count,
               float repeat, float freq, float present) {
  if (token_count.empty() || (repeat == 1.0f && freq == 0.0f && present == 0.0f)) return;
  for (auto& t : c.data) {
    auto it = token_count.find(t.id);
    if (it == token_count.end()) continue;
    const int count = it->second;
    // Dividing a negative logit would make the token more likely: multiply instead.
    if (t.logit <= 0) t.logit *= repeat;
    else t.logit /= repeat;
    t.logit -= float(count) * freq + float(count > 0) * present;
  }
  c.sorted = false;
}

void top_k(Candidates& c, int k) {
  if (k <= 0) return;
  const size_t n = std::min<size_t>(size_t(k), c.size());
  if (!c.sorted) sort_top(c, n);
  c.data.resize(n);
}

void typical(Candidates& c, float p, size_t min_keep) {
  if (p >= 1.0f) return;
  softmax(c, true);
  float entropy = 0.0f;
  for (const auto& t : c.data) entropy += -t.p * std::log(t.p);
  std::vector<float> shifted(c.size());
  for (size_t i = 0; i < c.size(); ++i) shifted[i] = std::fabs(-std::log(c.data[i].p) - entropy);
  std::vector<size_t> idx(c.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return shifted[a] < shifted[b]; });
  float cum = 0.0f;
  size_t last = idx.size();
  for (size_t i = 0; i < idx.size(); ++i) {
    cum += c.data[idx[i]].p;
    if (cum > p && (min_keep == 0 || i >= min_keep - 1)) {
      last = i + 1;
      break;
    }
  }
  std::vector<CandidateToken> kept;
  kept.reserve(last);
  for (size_t i = 0; i < last; ++i) kept.push_back(c.data[idx[i]]);
  c.data = std::move(kept);
  c.sorted = false;  // ordered by typicality, not by logit
}

void top_p(Candidates& c, float p, size_t min_keep) {
  if (p >= 1.0f || c.data.empty()) return;
  softmax(c, false);  // probabilities over the current order, then sort
  if (!c.sorted) {
    std::sort(c.data.begin(), c.data.end(), by_logit_desc);
    c.sorted = true;
  }
  float cum = 0.0f;
  size_t last = c.size();
  for (size_t i = 0; i < c.size(); ++i) {
    cum += c.data[i].p;
    if (cum >= p && i + 1 >= min_keep) {
      last = i + 1;
      break;
    }
  }
  c.data.resize(last);
}

void min_p(Candidates& c, float p, size_t min_keep) {
  if (p <= 0.0f || c.data.empty()) return;
  // p_i >= p * p_max  <=>  logit_i >= max_logit + log(p)
  if (!c.sorted) {
    float max_l = -FLT_MAX;
    for (const auto& t : c.data) max_l = std::max(max_l, t.logit);
    const float min_logit = max_l + std::log(p);
    std::vector<CandidateToken> kept;
    for (const auto& t : c.data)
      if (t.logit >= min_logit) kept.push_back(t);
    if (!kept.empty() && kept.size() >= min_keep) {
      c.data = std::move(kept);  // keeps the current (unsorted) order, as llama.cpp does
      return;
    }
    sort_top(c, c.size());
  }
  const float min_logit = c.data[0].logit + std::log(p);
  size_t i = 1;  // the first token always stays
  for (; i < c.size(); ++i)
    if (c.data[i].logit < min_logit && i >= min_keep) break;
  c.data.resize(i);
}

void temperature(Candidates& c, float t) {
  if (c.data.empty()) return;
  if (t <= 0.0f) {
    // Keep only the first highest logit.
    size_t max_i = 0;
    for (size_t i = 1; i < c.size(); ++i) {
      if (c.data[i].logit > c.data[max_i].logit) {
        c.data[max_i].logit = -INFINITY;
        max_i = i;
      } else {
        c.data[i].logit = -INFINITY;
      }
    }
    return;
  }
  for (auto& d : c.data) d.logit /= t;
}

int draw(Candidates& c, std::mt19937& rng) {
  if (c.data.empty()) return c.selected = -1;
  c.selected = 0;
  if (c.size() == 1) {
    c.data[0].p = 1.0f;
    return 0;  // no random number used
  }
  float max_l = c.data[0].logit;
  if (!c.sorted)
    for (const auto& t : c.data) max_l = std::max(max_l, t.logit);
  double sum = 0.0;
  for (auto& t : c.data) {
    t.p = std::exp(t.logit - max_l);
    sum += t.p;
  }
  // One double in [0, 1) per draw, then walk the cumulative mass (llama.cpp's single pass).
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  const double target = sum * uni(rng);
  double run = 0.0;
  bool found = false;
  for (size_t i = 0; i < c.size(); ++i) {
    if (!found) {
      run += c.data[i].p;
      if (run >= target) {
        c.selected = int(i);
        found = true;
      }
    }
    c.data[i].p = float(c.data[i].p / sum);
  }
  if (!found) c.selected = int(c.size()) - 1;
  return c.selected;
}

int argmax(const Candidates& c) {
  if (c.data.empty()) return -1;
  int best = 0;
  for (size_t i = 1; i < c.size(); ++i)
    if (c.data[i].logit > c.data[best].logit) best = int(i);
  return best;
}

}  // namespace sampling

namespace {

uint32_t resolve_seed(uint64_t seed) {
  if (seed > 0xFFFFFFFFull)
    throw Error("generate.sampler.seed " + std::to_string(seed) +
                " is out of range: expected 0..4294967295 (4294967295 picks a random seed)");
  if (uint32_t(seed) != kRandomSeed) return uint32_t(seed);
  std::random_device rd;
  if (rd.entropy() == 0) return uint32_t(std::chrono::system_clock::now().time_since_epoch().count());
  return rd();
}

}  // namespace

namespace {

// Every value the chain divides by, compares with or exponentiates: NaN or an
// infinity would silently turn the distribution into <unk> streams.
void check_spec(const SamplerSpec& s) {
  auto finite = [](const char* key, const char* flag, float v, const char* want) {
    if (!std::isfinite(v))
      throw Error(std::string("generate.sampler.") + key + " (" + flag + ") is " + std::to_string(v) +
                  ": expected " + want);
  };
  auto in_range = [&](const char* key, const char* flag, float v, float lo, float hi, const char* want) {
    finite(key, flag, v, want);
    if (v < lo || v > hi)
      throw Error(std::string("generate.sampler.") + key + " (" + flag + ") is " + std::to_string(v) +
                  ": expected " + want);
  };
  finite("temperature", "--temp", s.temperature, "a finite number (<= 0: greedy)");
  in_range("top_p", "--top-p", s.top_p, 0.0f, 1.0f, "a number in [0, 1] (1: off)");
  in_range("min_p", "--min-p", s.min_p, 0.0f, 1.0f, "a number in [0, 1] (0: off)");
  in_range("typical_p", "--typical", s.typical_p, 0.0f, 1.0f, "a number in [0, 1] (1: off)");
  // llama.cpp divides positive logits by repeat_penalty: 0 or less has no meaning.
  in_range("repeat_penalty", "--repeat-penalty", s.repeat_penalty, 1e-6f, 1e6f,
           "a positive finite number (1: off)");
  in_range("frequency_penalty", "--frequency-penalty", s.frequency_penalty, -1e6f, 1e6f,
           "a finite number (0: off)");
  in_range("presence_penalty", "--presence-penalty", s.presence_penalty, -1e6f, 1e6f,
           "a finite number (0: off)");
}

}  // namespace

Sampler::Sampler(const SamplerSpec& spec, int32_t n_ctx) : spec_(spec) {
  check_spec(spec);
  if (spec.repeat_last_n < -1)
    throw Error("generate.sampler.repeat_last_n " + std::to_string(spec.repeat_last_n) +
                " is invalid: expected -1 (whole context), 0 (off) or a positive count");
  last_n_ = spec.repeat_last_n == -1 ? std::max(n_ctx, 0) : spec.repeat_last_n;
  seed_ = resolve_seed(spec.seed);
  rng_.seed(seed_);
}

void Sampler::accept(TokenId id) {
  if (last_n_ <= 0) return;
  if (window_.size() < size_t(last_n_)) {
    window_.push_back(id);
  } else {
    TokenId old = window_[window_pos_];
    if (--token_count_[old] == 0) token_count_.erase(old);
    window_[window_pos_] = id;
    window_pos_ = (window_pos_ + 1) % window_.size();
  }
  ++token_count_[id];
}

void Sampler::reset() {
  window_.clear();
  window_pos_ = 0;
  token_count_.clear();
  rng_.seed(seed_);
}

TokenId Sampler::sample(std::span<const float> logits) {
  if (logits.empty()) throw Error("sampler: empty logits row");
  for (size_t i = 0; i < logits.size(); ++i)
    if (std::isnan(logits[i]))
      throw Error("the model produced a NaN logit (token " + std::to_string(i) +
                  "): its weights or hyperparameters hold non-finite or invalid values");
  cur_ = Candidates::from_logits(logits);
  for (TokenId b : banned_)
    if (b >= 0 && size_t(b) < cur_.size()) cur_.data[b].logit = -INFINITY;
  if (last_n_ > 0)
    sampling::penalties(cur_, token_count_, spec_.repeat_penalty, spec_.frequency_penalty,
                        spec_.presence_penalty);
  if (spec_.temperature <= 0.0f) {
    // Greedy. llama.cpp runs the whole chain and its temperature stage keeps only the
    // max; the filters before it never drop the max, so the result is this argmax.
    cur_.selected = sampling::argmax(cur_);
    return cur_.data[cur_.selected].id;
  }
  sampling::top_k(cur_, spec_.top_k);
  sampling::typical(cur_, spec_.typical_p);
  sampling::top_p(cur_, spec_.top_p);
  sampling::min_p(cur_, spec_.min_p);
  sampling::temperature(cur_, spec_.temperature);
  int i = sampling::draw(cur_, rng_);
  if (i < 0) throw Error("sampler: no candidate token left");
  return cur_.data[i].id;
}

}  // namespace tessel
