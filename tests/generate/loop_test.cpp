// The decode/sample loop and prompt building against a tiny fake model and
// tokenizer: batching, EOG, ignore_eos, stop strings, -n 0, a full context.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "generate.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"

using namespace tessel;
using namespace tessel::generate;

namespace {

// ids: 0 <unk>, 1 <s>, 2 </s> (EOG), 3 "a", 4 "b", 5 0xC3, 6 0xA9, 7 " STOP"
class FakeTokenizer : public Tokenizer {
 public:
  FakeTokenizer() {
    sp_.bos = 1;
    sp_.eos = 2;
    sp_.add_bos = true;
  }
  std::vector<TokenId> encode(std::string_view text, EncodeOptions o) const override {
    std::vector<TokenId> ids;
    if (o.add_special) ids.push_back(1);
    for (char c : text) ids.push_back(c == 'a' ? 3 : c == 'b' ? 4 : 0);
    return ids;
  }
  std::string decode(std::span<const TokenId> ids, DecodeOptions) const override {
    std::string s;
    for (TokenId t : ids) s += piece(t);
    return s;
  }
  std::string piece(TokenId id) const override { return pieces_.at(size_t(id)); }
  std::string token_text(TokenId id) const override { return piece(id); }
  uint32_t attributes(TokenId) const override { return kAttrNormal; }
  size_t vocab_size() const override { return pieces_.size(); }
  const SpecialTokens& special() const override { return sp_; }
  bool is_eog(TokenId id) const override { return id == 2; }

 private:
  SpecialTokens sp_;
  std::vector<std::string> pieces_{"<unk>", "<s>", "</s>", "a", "b", "\xC3", "\xA9", " STOP"};
};

class FakeContext : public Context {
 public:
  explicit FakeContext(int32_t n) : n_ctx_(n) {}
  void clear() override { past_ = 0; }
  int32_t n_ctx() const override { return n_ctx_; }
  int32_t n_past(int32_t) const override { return past_; }
  int32_t n_ctx_, past_ = 0;
};

// Greedy-friendly: the next token after t is next[t] (logit 10, others 0).
class FakeModel : public Model {
 public:
  std::map<TokenId, TokenId> next{{1, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 3}, {0, 3}, {2, 3}, {7, 3}};
  std::vector<size_t> batch_sizes;
  HParams hp;
  FakeModel() {
    hp.arch = "fake";
    hp.n_vocab = 8;
  }
  const HParams& hparams() const override { return hp; }
  std::unique_ptr<Context> new_context(const RuntimeOptions& o) const override {
    return std::make_unique<FakeContext>(o.n_ctx);
  }
  void forward(const Batch& b, Context& c, Outputs& out) override {
    auto& ctx = static_cast<FakeContext&>(c);
    if (ctx.past_ + int32_t(b.size()) > ctx.n_ctx_) throw Error("fake: batch does not fit");
    batch_sizes.push_back(b.size());
    for (size_t i = 0; i < b.size(); ++i) {
      REQUIRE(b.pos[i] == ctx.past_ + int32_t(i));
      if (!b.output[i]) continue;
      out.rows.push_back(int32_t(i));
      std::vector<float> row(8, 0.0f);
      row[size_t(next.at(b.tokens[i]))] = 10.0f;
      out.logits.insert(out.logits.end(), row.begin(), row.end());
    }
    ctx.past_ += int32_t(b.size());
  }
  void embed_tokens(std::span<const TokenId>, float*) const override {}
};

GenerateSpec greedy(int n) {
  GenerateSpec g;
  g.max_tokens = n;
  g.sampler.temperature = 0.0f;
  return g;
}

struct Run {
  Result r;
  std::string out;
  FakeModel model;
};

Run go(std::vector<TokenId> prompt, GenerateSpec g, int n_ctx = 64, int n_batch = 512,
       std::map<TokenId, TokenId> next_override = {}) {
  Run run;
  for (auto [k, v] : next_override) run.model.next[k] = v;
  FakeTokenizer tok;
  RuntimeOptions o;
  o.n_ctx = n_ctx;
  auto ctx = run.model.new_context(o);
  std::ostringstream out;
  run.r = generate::run(run.model, *ctx, tok, token_prompt(prompt), g, n_batch, out);
  run.out = out.str();
  return run;
}

}  // namespace

TEST_CASE("greedy generation streams complete characters and decodes one token per step") {
  auto run = go({1, 3}, greedy(6));
  CHECK(run.r.tokens == std::vector<TokenId>{4, 5, 6, 3, 4, 5});
  CHECK(run.out == "b\xC3\xA9" "ab\xC3");  // the last, unfinished character is printed at the end
  CHECK(run.r.reason == StopReason::MaxTokens);
  CHECK(run.model.batch_sizes == std::vector<size_t>{2, 1, 1, 1, 1, 1});  // the last token is not decoded
}

TEST_CASE("the prompt is decoded in chunks of n_batch") {
  auto run = go({1, 3, 4, 3, 4}, greedy(1), 64, 2);
  CHECK(run.model.batch_sizes == std::vector<size_t>{2, 2, 1});
  CHECK(run.r.tokens == std::vector<TokenId>{5});
}

TEST_CASE("-n 0 prints nothing") {
  auto run = go({1, 3}, greedy(0));
  CHECK(run.r.tokens.empty());
  CHECK(run.out.empty());
}

TEST_CASE("an end-of-generation token stops without being printed") {
  auto run = go({1, 3}, greedy(10), 64, 512, {{4, 2}});
  CHECK(run.r.tokens == std::vector<TokenId>{4});
  CHECK(run.out == "b");
  CHECK(run.r.reason == StopReason::EndOfGeneration);
}

TEST_CASE("ignore_eos bans end-of-generation tokens, as llama.cpp's --ignore-eos does") {
  auto g = greedy(4);
  g.ignore_eos = true;
  auto run = go({1, 3}, g, 64, 512, {{4, 2}});
  // After "b" the model wants </s>; banned, the argmax of the rest is id 0.
  CHECK(run.r.tokens == std::vector<TokenId>{4, 0, 3, 4});
  CHECK(run.r.reason == StopReason::MaxTokens);
}

TEST_CASE("a stop string ends generation and is not printed") {
  auto g = greedy(20);
  g.stop = {"\xC3\xA9" "a"};
  auto run = go({1, 3}, g);
  CHECK(run.out == "b");
  CHECK(run.r.reason == StopReason::StopString);
  CHECK(run.r.tokens == std::vector<TokenId>{4, 5, 6, 3});
}

TEST_CASE("a full context stops generation with ContextFull, not an error") {
  auto run = go({1, 3}, greedy(100), 5);
  CHECK(run.r.reason == StopReason::ContextFull);
  CHECK(run.r.tokens.size() == 4);  // n_ctx - n_prompt decoded + the last one sampled
  auto unlimited = go({1, 3}, greedy(-1), 6);
  CHECK(unlimited.r.reason == StopReason::ContextFull);
  CHECK(unlimited.r.tokens.size() == 5);
}

TEST_CASE("a prompt longer than the context is an error naming the option") {
  try {
    go({1, 3, 4, 3, 4, 3}, greedy(1), 4);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("runtime.context"));
  }
}

TEST_CASE("the same seed samples the same tokens") {
  GenerateSpec g;
  g.max_tokens = 30;
  g.sampler.temperature = 50.0f;  // flatten the fake's peaked logits
  g.sampler.top_k = 0;
  g.sampler.min_p = 0.0f;
  g.sampler.top_p = 1.0f;  // the filters run before temperature: keep them all open
  g.ignore_eos = true;
  g.sampler.seed = 9;
  auto a = go({1, 3}, g), b = go({1, 3}, g);
  g.sampler.seed = 10;
  auto c = go({1, 3}, g);
  CHECK(a.r.tokens == b.r.tokens);
  CHECK(a.out == b.out);
  CHECK(a.r.tokens != c.r.tokens);
}

// build_prompt goes through the input-adapter plugins ("tokens") of the build.
std::vector<TokenId> prompt_ids(const PipelineSpec& spec) {
  static auto reg = make_registry();
  FakeTokenizer tok;
  ModelFile file;
  std::vector<TokenId> ids;
  for (const auto& c : build_prompt(spec, *reg, file, nullptr, tok)) {
    REQUIRE(c.embd.empty());
    ids.insert(ids.end(), c.tokens.begin(), c.tokens.end());
  }
  return ids;
}

TEST_CASE("build_prompt: text and id segments, BOS only at the start") {
  PipelineSpec spec;
  spec.inputs.push_back({"tokens", "ab", {}, {}, {}});
  spec.inputs.push_back({"tokens", "", {4, 4}, {}, {}});
  spec.inputs.push_back({"tokens", "a", {}, {}, {}});
  CHECK(prompt_ids(spec) == std::vector<TokenId>{1, 3, 4, 4, 4, 3});
}

TEST_CASE("build_prompt: errors for missing prompts, bad ids, system without chat, unknown adapters") {
  PipelineSpec empty;
  CHECK_THROWS_AS(prompt_ids(empty), Error);
  PipelineSpec bad_id;
  bad_id.inputs.push_back({"tokens", "", {99}, {}, {}});
  CHECK_THROWS_WITH(prompt_ids(bad_id), Catch::Contains("99"));
  PipelineSpec sys;
  sys.inputs.push_back({"tokens", "ab", {}, {}, {}});
  sys.generate.system = "S";
  CHECK_THROWS_WITH(prompt_ids(sys), Catch::Contains("chat"));
  PipelineSpec odd;
  odd.inputs.push_back({"no-such-adapter", "", {}, {}, {}});
  CHECK_THROWS_WITH(prompt_ids(odd), Catch::Contains("no-such-adapter"));
  PipelineSpec chat_ids;
  chat_ids.generate.chat = true;
  chat_ids.inputs.push_back({"tokens", "", {3}, {}, {}});
  CHECK_THROWS_WITH(prompt_ids(chat_ids), Catch::Contains("chat mode"));
}

TEST_CASE("chat mode wraps the text as one user turn after the system message") {
  PipelineSpec spec;
  spec.inputs.push_back({"tokens", "Hi", {}, {}, {}});
  spec.generate.chat = true;
  spec.generate.system = "Be brief.";
  spec.generate.chat_template = "zephyr";
  Metadata meta;
  CHECK(chat_prompt_text(spec, meta) ==
        "<|system|>\nBe brief.<|endoftext|>\n<|user|>\nHi<|endoftext|>\n<|assistant|>\n");
  spec.generate.chat_template = "auto";  // no template in the file: chatml
  CHECK(chat_prompt_text(spec, meta) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const auto ids = prompt_ids(spec);
  CHECK(ids.front() == 1);  // BOS from the tokenizer, not the template
  CHECK(ids.size() == 1 + chat_prompt_text(spec, meta).size());  // the fake has one id per byte
}

TEST_CASE("chat mode: an image input stands as the media marker in the user turn") {
  PipelineSpec spec;
  spec.generate.chat = true;
  spec.generate.chat_template = "zephyr";
  spec.inputs.push_back({"tokens", "Look:", {}, {}, {}});
  spec.inputs.push_back({"image", "", {}, "x.png", {}});
  spec.inputs.push_back({"tokens", " What is it?", {}, {}, {}});
  CHECK(chat_prompt_text(spec, Metadata{}) ==
        "<|user|>\nLook:<__media__> What is it?<|endoftext|>\n<|assistant|>\n");
}

TEST_CASE("the stats line names load, prompt and generated token counts") {
  Result r;
  r.n_prompt = 5;
  r.tokens = {1, 2, 3};
  r.prompt_ms = 10;
  r.gen_ms = 30;
  r.load_ms = 200;
  r.pack_ms = 50;
  const std::string s = stats_line(r);
  CHECK_THAT(s, Catch::Contains("load 250.0 ms (packing weights 50.0 ms)"));  // packing is load, not prompt
  CHECK_THAT(s, Catch::Contains("prompt 5 tokens"));
  CHECK_THAT(s, Catch::Contains("generated 3 tokens"));
  CHECK_THAT(s, Catch::Contains("100.0 t/s"));
}
