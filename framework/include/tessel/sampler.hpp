#pragma once
// The token sampler: llama.cpp's common sampler chain, stage for stage.
//
//   logit bias (ignore_eos) → penalties (repeat/frequency/presence over the last N
//   accepted tokens) → top-k → typical → top-p → min-p → temperature → seeded draw
//
// Each stage works on a Candidates list the way llama.cpp's llama_token_data_array
// does (same keep rules, same min_keep = 0, same "sorted" bookkeeping), so with the
// same seed the same tokens come out. temperature <= 0 is greedy: the argmax after
// the penalties, which is what llama.cpp's chain reduces to in that case.
#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "tessel/config.hpp"
#include "tessel/types.hpp"

namespace tessel {

// One sampling candidate (llama.cpp's llama_token_data). Named apart from the
// vocabulary's TokenData: two structs of one name broke the one-definition rule.
struct CandidateToken {
  TokenId id = 0;
  float logit = 0.0f;
  float p = 0.0f;
};

struct Candidates {
  std::vector<CandidateToken> data;
  bool sorted = false;   // data is in descending logit order
  int selected = -1;     // index into data after a draw

  static Candidates from_logits(std::span<const float> logits);
  size_t size() const { return data.size(); }
};

// The stages, each as llama.cpp applies it (exposed for tests).
namespace sampling {
// token_count: how often each token occurs in the penalty window.
void penalties(Candidates& c, const std::unordered_map<TokenId, int>& token_count,
               float repeat, float freq, float present);
void top_k(Candidates& c, int k);                           // k <= 0: off
void typical(Candidates& c, float p, size_t min_keep = 0);  // p >= 1: off
void top_p(Candidates& c, float p, size_t min_keep = 0);    // p >= 1: off
void min_p(Candidates& c, float p, size_t min_keep = 0);    // p <= 0: off
void temperature(Candidates& c, float t);                   // t <= 0: keep only the max
// Fills p by softmax over the current order (sorting first when do_sort).
void softmax(Candidates& c, bool do_sort);
// llama.cpp's dist sampler: softmax and one uniform draw (none when one candidate
// is left). Sets c.selected and returns it.
int draw(Candidates& c, std::mt19937& rng);
// First index of the highest logit (llama.cpp's greedy sampler).
int argmax(const Candidates& c);
}  // namespace sampling

class Sampler {
 public:
  // n_ctx resolves repeat_last_n = -1 ("the whole context") as llama.cpp does.
  Sampler(const SamplerSpec& spec, int32_t n_ctx);

  // Tokens that may never be drawn (ignore_eos bans every end-of-generation token,
  // as llama.cpp's --ignore-eos does with a -inf logit bias).
  void ban(TokenId id) { banned_.push_back(id); }

  // Picks the next token from one row of logits. Does not accept it.
  TokenId sample(std::span<const float> logits);
  // Records a token in the penalty window (prompt tokens too, as llama.cpp's tools do).
  void accept(TokenId id);
  void reset();

  uint32_t seed() const { return seed_; }
  const Candidates& last_candidates() const { return cur_; }

 private:
  SamplerSpec spec_;
  int32_t last_n_ = 0;
  uint32_t seed_ = 0;
  std::mt19937 rng_;
  std::vector<TokenId> banned_;
  std::vector<TokenId> window_;  // ring of the last last_n_ accepted tokens
  size_t window_pos_ = 0;
  std::unordered_map<TokenId, int> token_count_;
  Candidates cur_;
};

// llama.cpp's LLAMA_DEFAULT_SEED: a seed of 0xFFFFFFFF means "pick one at random".
inline constexpr uint32_t kRandomSeed = 0xFFFFFFFFu;

}  // namespace tessel
