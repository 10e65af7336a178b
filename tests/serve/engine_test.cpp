// The serving engine against a fake model whose logits depend on each
// sequence's whole history: jobs decoded together in one forward pass per
// step give the same tokens as alone, slots are freed and reused, a full
// queue is refused, cancelled jobs end, max_tokens and the slot context stop.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <thread>

#include "serve/engine.hpp"
#include "tessel/error.hpp"

using namespace tessel;
using namespace tessel::serve;
using namespace std::chrono_literals;

namespace {

constexpr int kVocab = 8;

class Letters : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view text, EncodeOptions) const override {
    std::vector<TokenId> ids;
    for (char c : text) ids.push_back(TokenId((c - 'a') & 7));
    return ids;
  }
  std::string decode(std::span<const TokenId> ids, DecodeOptions) const override {
    std::string s;
    for (TokenId t : ids) s += piece(t);
    return s;
  }
  std::string piece(TokenId id) const override { return std::string(1, char('a' + id)); }
  std::string token_text(TokenId id) const override { return piece(id); }
  uint32_t attributes(TokenId) const override { return kAttrNormal; }
  size_t vocab_size() const override { return kVocab; }
  const SpecialTokens& special() const override { return sp_; }
  bool is_eog(TokenId) const override { return false; }

 private:
  SpecialTokens sp_;
};

struct HistoryContext : Context {
  std::map<int32_t, std::vector<TokenId>> seqs;
  std::vector<int32_t> removed;
  void clear() override { seqs.clear(); }
  int32_t cells = 64;
  int32_t n_ctx() const override { return cells; }
  int32_t n_past(int32_t s) const override {
    auto it = seqs.find(s);
    return it == seqs.end() ? 0 : int32_t(it->second.size());
  }
  void remove_seq(int32_t s) override {
    seqs.erase(s);
    removed.push_back(s);
  }
};

// Logits: a hash of the row's sequence history, so any mix-up of positions
// or sequences changes what is sampled.
class HistoryModel : public Model {
 public:
  HParams hp;
  std::vector<size_t> batch_sizes;
  std::vector<bool> batch_causal;
  std::atomic<bool> hold{false};  // forward waits while set
  HistoryModel() {
    hp.arch = "history";
    hp.n_vocab = kVocab;
    hp.n_embd = 1;  // an embedding row is one float: the token it stands for
  }
  const HParams& hparams() const override { return hp; }
  std::unique_ptr<Context> new_context(const RuntimeOptions&) const override { return std::make_unique<HistoryContext>(); }
  void embed_tokens(std::span<const TokenId>, float*) const override {}
  void forward(const Batch& b, Context& base, Outputs& out) override {
    while (hold) std::this_thread::sleep_for(1ms);
    auto& c = static_cast<HistoryContext&>(base);
    batch_sizes.push_back(b.size());
    batch_causal.push_back(b.causal);
    out.rows.clear();
    out.logits.clear();
    for (size_t i = 0; i < b.size(); ++i) {
      auto& h = c.seqs[b.seq[i]];
      if (b.pos[i] != int32_t(h.size())) throw Error("position " + std::to_string(b.pos[i]) + " out of order");
      h.push_back(b.tokens.empty() ? TokenId(b.embd[i]) : b.tokens[i]);
      if (!b.output[i]) continue;
      uint32_t x = 2166136261u;
      for (TokenId t : h) x = (x ^ uint32_t(t + 1)) * 16777619u;
      out.rows.push_back(int32_t(i));
      for (int v = 0; v < kVocab; ++v) out.logits.push_back(float(std::sin(double(x % 1000) + v * 1.7)) * 3.0f);
    }
  }
};

std::shared_ptr<Job> make_job(const std::string& prompt, int n, uint64_t seed) {
  auto j = std::make_shared<Job>();
  j->prompt = Letters().encode(prompt, {});
  j->gen.max_tokens = n;
  j->gen.sampler.temperature = 1.0f;
  j->gen.sampler.top_k = 0;
  j->gen.sampler.top_p = 1.0f;
  j->gen.sampler.min_p = 0.0f;
  j->gen.sampler.seed = seed;
  return j;
}

std::string run_to_end(Job& j, Finish* why = nullptr) {
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    std::vector<Piece> pieces;
    const bool done = j.wait(pieces, 10ms);
    for (auto& p : pieces) text += p.text;
    if (done) {
      if (why) *why = j.finish;
      return text;
    }
  }
  FAIL("job did not finish");
  return text;
}

}  // namespace

TEST_CASE("engine: jobs decoded side by side give the tokens they give alone") {
  HistoryModel model;
  Letters tok;
  auto ctx = model.new_context({});
  static_cast<HistoryContext&>(*ctx).cells = 256;
  EngineOptions eo;
  eo.n_slots = 4;
  eo.n_batch = 6;  // prompts take several steps beside the decode rows
  Engine engine(model, *ctx, tok, eo);
  const std::vector<std::string> prompts = {"abcabcabc", "hgf", "aaaaaaaaaaaaa", "bcd", "eeee", "fa"};
  std::vector<std::string> alone;
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto j = make_job(prompts[i], 10, 7 + i);
    engine.submit(j);
    alone.push_back(run_to_end(*j));
    REQUIRE(alone.back().size() == 10);
    // A job seen finished is already counted (the counters once lagged the
    // job's end by a thread switch, which failed the checks below under load).
    REQUIRE(engine.stats().jobs_done == i + 1);
    REQUIRE(engine.stats().busy == 0);
  }
  model.batch_sizes.clear();
  model.hold = true;  // let every job queue up before the first step
  std::vector<std::shared_ptr<Job>> jobs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    jobs.push_back(make_job(prompts[i], 10, 7 + i));
    engine.submit(jobs.back());
  }
  model.hold = false;
  for (size_t i = 0; i < prompts.size(); ++i) REQUIRE(run_to_end(*jobs[i]) == alone[i]);
  // Several slots shared forward passes.
  REQUIRE(*std::max_element(model.batch_sizes.begin(), model.batch_sizes.end()) > 1);
  const auto& removed = static_cast<HistoryContext&>(*ctx).removed;
  REQUIRE(removed.size() == 2 * prompts.size());  // every finished job freed its sequence
  const EngineStats st = engine.stats();
  REQUIRE(st.jobs_done == 2 * prompts.size());
  REQUIRE(st.generated_tokens == 20 * prompts.size());
  REQUIRE(st.busy == 0);
}

TEST_CASE("engine: a full queue is refused, cancelled jobs end, limits stop generation") {
  HistoryModel model;
  Letters tok;
  auto ctx = model.new_context({});
  EngineOptions eo;
  eo.n_slots = 2;  // 32 cells each
  eo.max_queue = 1;
  Engine engine(model, *ctx, tok, eo);
  REQUIRE(engine.slot_context() == 32);
  model.hold = true;
  auto a = make_job("abc", -1, 1), b = make_job("abc", 5, 2), c = make_job("abc", 0, 3), d = make_job("a", 1, 4);
  engine.submit(a);
  engine.submit(b);
  engine.submit(c);
  REQUIRE_THROWS_AS(engine.submit(d), QueueFull);
  a->cancelled = true;
  model.hold = false;
  Finish fa, fb, fc;
  run_to_end(*a, &fa);
  REQUIRE(fa == Finish::Cancelled);
  REQUIRE(run_to_end(*b, &fb).size() == 5);
  REQUIRE(fb == Finish::Length);
  REQUIRE(run_to_end(*c, &fc).empty());  // max_tokens 0
  REQUIRE(fc == Finish::Length);
  // -1 runs until the slot's context is full: 32 cells hold 3 prompt tokens + 29 decoded, plus the last sampled one.
  auto e = make_job("abc", -1, 5);
  engine.submit(e);
  Finish fe;
  REQUIRE(run_to_end(*e, &fe).size() == 30);
  REQUIRE(fe == Finish::Length);
  // A prompt longer than the slot ends with an error naming both sizes.
  auto f = make_job(std::string(40, 'a'), 3, 6);
  engine.submit(f);
  Finish ff;
  run_to_end(*f, &ff);
  REQUIRE(ff == Finish::Error);
  REQUIRE_THAT(f->error, Catch::Contains("40") && Catch::Contains("32"));
  engine.drain();
  REQUIRE_THROWS_AS(engine.submit(make_job("a", 1, 1)), Error);
}

TEST_CASE("engine: a prompt of text and image rows decodes the rows in a pass of their own") {
  HistoryModel model;
  Letters tok;
  auto ctx = model.new_context({});
  EngineOptions eo;
  eo.n_slots = 2;
  Engine engine(model, *ctx, tok, eo);
  auto plain = make_job("abcdeab", 6, 5);
  engine.submit(plain);
  const std::string want = run_to_end(*plain);
  // The same history as chunks: "ab", rows standing for c d e (non-causal), "ab".
  auto mixed = make_job("", 6, 5);
  mixed->chunks.resize(3);
  mixed->chunks[0].tokens = tok.encode("ab", {});
  mixed->chunks[1].embd = {2, 3, 4};
  mixed->chunks[1].n_rows = 3;
  mixed->chunks[1].causal = false;
  mixed->chunks[2].tokens = tok.encode("ab", {});
  const size_t passes_before = model.batch_sizes.size();
  engine.submit(mixed);
  REQUIRE(run_to_end(*mixed) == want);
  REQUIRE(mixed->n_prompt == 7);
  // One pass held exactly the three rows, non-causally.
  bool seen = false;
  for (size_t i = passes_before; i < model.batch_sizes.size(); ++i)
    if (!model.batch_causal[i]) {
      CHECK(model.batch_sizes[i] == 3);
      seen = true;
    }
  REQUIRE(seen);
  // An image chunk at the end of the prompt gives the first token's logits itself.
  auto tail = make_job("", 6, 5);
  tail->chunks.resize(2);
  tail->chunks[0].tokens = tok.encode("abcdea", {});
  tail->chunks[1].embd = {1};
  tail->chunks[1].n_rows = 1;
  engine.submit(tail);
  REQUIRE(run_to_end(*tail) == want);
}
