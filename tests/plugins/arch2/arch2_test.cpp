// The architectures of ../shared/golden/arch2 against llama.cpp (see
// arch2_golden.hpp for what each check compares and its bounds).
#include "arch2_golden.hpp"

using namespace arch2;

// ---- llama-3: llama-bpe vocabulary, rope_freqs factors, rope base 5e5 ----

TEST_CASE("llama3-synth: tokenizer ids") { check_tokenizer("llama3-synth"); }

TEST_CASE("llama3-synth: hidden states, last logits row and top-16 at every position") {
  auto& l = load(model_rel("llama3-synth"));
  const auto& hp = l.model->hparams();
  CHECK(hp.arch == "llama");
  const size_t V = size_t(hp.n_vocab), E = size_t(hp.n_embd);
  REQUIRE(V == 128256);
  for (const auto& p : prompt_names()) {
    INFO("prompt " << p);
    const json j = sidecar("logits", "llama3-synth", p);
    const auto ids = ids_of(j);
    l.ctx->clear();
    tessel::Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, true);
    tessel::Outputs out;
    out.want_hidden = true;
    l.model->forward(b, *l.ctx, out);
    const auto hidden = read_floats(golden("logits/llama3-synth/" + p + ".hidden.npy"));
    REQUIRE(out.hidden.size() == hidden.size());
    REQUIRE(out.logits.size() == ids.size() * V);
    for (size_t t = 0; t < ids.size(); ++t) {
      INFO("position " << t);
      CHECK(tessel::test::cosine(hidden.data() + t * E, out.hidden.data() + t * E, E) >= 0.9999);
      check_topk(out.logits.data() + t * V, V, j["topk_per_position"][t],
                 j["top2_margin_per_position"][t].get<float>(), 0.02f);
    }
    Bounds last;
    last.min_cos = 0.9999;
    compare_logits(read_floats(golden("logits/llama3-synth/" + p + ".last_logits.npy")),
                   std::vector<float>(out.logits.end() - long(V), out.logits.end()), V, last,
                   "llama3-synth last row");
  }
}

TEST_CASE("llama3-synth: greedy continuations") { check_greedy("llama3-synth"); }

// ---- Mistral-style llama: head dim from attention.key_length ----

TEST_CASE("mistral-synth: tokenizer ids") { check_tokenizer("mistral-synth"); }
TEST_CASE("mistral-synth: logits F32, Q8_0, Q4_K_M") {
  check_family_logits("mistral-synth", "llama");
  CHECK(load(model_rel("mistral-synth")).model->hparams().head_dim == 128);
}
TEST_CASE("mistral-synth: greedy continuations") { check_greedy("mistral-synth"); }
