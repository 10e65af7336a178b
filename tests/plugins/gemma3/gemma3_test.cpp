// The gemma3 architecture against llama.cpp's logits for gemma3-synth-128
// (sliding-window layers, q/k norms, post norms, GeGLU, sqrt(n_embd) scaling).
#include "mm_support.hpp"
#include "tessel/error.hpp"

using namespace mm_test;

TEST_CASE("gemma3-synth-128 logits match llama.cpp at every position") {
  Loaded& l = load("golden/models/gemma3-synth-128.gguf");
  const auto& hp = l.model->hparams();
  CHECK(hp.arch == "gemma3");
  CHECK(hp.n_embd == 128);
  CHECK(hp.head_dim == 64);
  const size_t n_vocab = size_t(hp.n_vocab);
  for (const char* p : {"fox", "hello", "once"}) {
    INFO(p);
    const std::string dir = "gemma3-synth/logits/gemma3-synth-128/";
    const auto meta = read_json(tessel::test::shared_path("golden/" + dir + p + ".tokens.json"));
    const auto ids = meta["token_ids"].get<std::vector<tessel::TokenId>>();
    // The tokenizer gives the same ids as llama.cpp's.
    CHECK(l.tok->encode(meta["prompt"].get<std::string>(), {true, true}) == ids);
    l.ctx->clear();
    tessel::Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, true);
    tessel::Outputs out;
    l.model->forward(b, *l.ctx, out);
    const auto ref = floats(dir + p + ".logits.npy");
    const double worst = check_rows(out.logits, ref, n_vocab, 0.99999);
    CHECK(tessel::test::max_abs_diff(out.logits.data(), ref.data(), ref.size()) <= 0.03f);
    check_top1(out.logits, ref, n_vocab);
    WARN(p << ": worst cosine " << worst);
  }
}

TEST_CASE("gemma3: decoding in small batches equals one batch; last-row output") {
  Loaded& l = load("golden/models/gemma3-synth-128.gguf");
  const auto meta = read_json(
      tessel::test::shared_path("golden/gemma3-synth/logits/gemma3-synth-128/fox.tokens.json"));
  const auto ids = meta["token_ids"].get<std::vector<tessel::TokenId>>();
  tessel::BatchChunk c;
  c.tokens = ids;
  tessel::PromptDecodeOptions o;
  o.all_logits = true;
  const auto one = tessel::decode_prompt(*l.model, *l.ctx, {c}, o);
  l.ctx->clear();
  o.n_batch = 3;  // crosses the sliding window (8) several times
  const auto small = tessel::decode_prompt(*l.model, *l.ctx, {c}, o);
  REQUIRE(one.logits.size() == small.logits.size());
  CHECK(tessel::test::max_abs_diff(one.logits.data(), small.logits.data(), one.logits.size()) <=
        1e-4f);
  l.ctx->clear();
  const auto last = tessel::decode_prompt(*l.model, *l.ctx, {c}, {});
  const size_t n_vocab = size_t(l.model->hparams().n_vocab);
  REQUIRE(last.logits.size() == n_vocab);
  CHECK(last.positions == std::vector<int32_t>{int32_t(ids.size() - 1)});
  CHECK(tessel::test::max_abs_diff(last.logits.data(), one.logits.data() + one.logits.size() - n_vocab,
                                   n_vocab) <= 1e-4f);
}

TEST_CASE("gemma3: a bad token id names the id") {
  Loaded& l = load("golden/models/gemma3-synth-128.gguf");
  tessel::Batch b;
  b.add_token(9999, 0, 0, true);
  tessel::Outputs out;
  CHECK_THROWS_WITH(l.model->forward(b, *l.ctx, out), Catch::Contains("9999"));
  CHECK(l.ctx->n_past(0) == 0);
}
