// qwen2, qwen3, phi3 and gemma2 against llama.cpp's arch2 goldens (see
// arch2_golden.hpp for the checks and their bounds).
#include "arch2_golden.hpp"

using namespace arch2;

namespace {

const tessel::HParams& hparams_of(const std::string& model) {
  return load(model_rel(model)).model->hparams();
}

}  // namespace

TEST_CASE("qwen2-synth: tokenizer ids") { check_tokenizer("qwen2-synth"); }
TEST_CASE("qwen2-synth: logits F32, Q8_0, Q4_K_M") { check_family_logits("qwen2-synth", "qwen2"); }
TEST_CASE("qwen2-synth: greedy continuations") { check_greedy("qwen2-synth"); }

TEST_CASE("qwen3-synth: tokenizer ids") { check_tokenizer("qwen3-synth"); }
TEST_CASE("qwen3-synth: logits F32, Q8_0, Q4_K_M") {
  check_family_logits("qwen3-synth", "qwen3");
  const auto& hp = hparams_of("qwen3-synth");
  CHECK(hp.head_dim == 64);  // from key_length, not n_embd / n_head = 32
  CHECK(hp.n_head_kv == 2);
}
TEST_CASE("qwen3-synth: greedy continuations") { check_greedy("qwen3-synth"); }

TEST_CASE("phi3-synth: tokenizer ids") { check_tokenizer("phi3-synth"); }
TEST_CASE("phi3-synth: logits F32, Q8_0, Q4_K_M") { check_family_logits("phi3-synth", "phi3"); }
TEST_CASE("phi3-synth: greedy continuations") { check_greedy("phi3-synth"); }

TEST_CASE("gemma2-synth: tokenizer ids") { check_tokenizer("gemma2-synth"); }
TEST_CASE("gemma2-synth: logits F32, Q8_0, Q4_K_M") {
  check_family_logits("gemma2-synth", "gemma2");
  CHECK(hparams_of("gemma2-synth").head_dim == 64);
}
TEST_CASE("gemma2-synth: greedy continuations") { check_greedy("gemma2-synth"); }

TEST_CASE("gemma2-synth: small batches across the sliding window equal one batch") {
  auto& l = load(model_rel("gemma2-synth"));
  const auto ids = ids_of(sidecar("logits", "gemma2-synth", "fox"));  // 30 tokens, window 8
  const auto one = all_logits(l, ids);
  l.ctx->clear();
  std::vector<float> pieces;
  for (size_t at = 0; at < ids.size(); at += 3) {
    tessel::Batch b;
    for (size_t i = at; i < std::min(ids.size(), at + 3); ++i) b.add_token(ids[i], int32_t(i), 0, true);
    tessel::Outputs out;
    l.model->forward(b, *l.ctx, out);
    pieces.insert(pieces.end(), out.logits.begin(), out.logits.end());
  }
  REQUIRE(pieces.size() == one.size());
  CHECK(tessel::test::max_abs_diff(one.data(), pieces.data(), one.size()) <= 1e-3f);
}
