// bert-synth (F32 with an F16 token_embd, and Q8_0) against
// golden/embeddings: every prompt, pooling and normalization; tokenization
// and `tessel embed` end to end.
#include "golden_embed.hpp"

using namespace tessel;
using namespace tessel::test;

TEST_CASE("bert-synth F32 matches every golden llama-embedding output") {
  check_all_golden("bert-synth");
}

TEST_CASE("bert-synth Q8_0 matches every golden llama-embedding output") {
  check_all_golden("bert-synth-Q8_0");
}

TEST_CASE("bert hparams come from the metadata") {
  LoadedModel m = load_golden_model("bert-synth");
  const HParams& hp = m.model->hparams();
  CHECK(hp.arch == "bert");
  CHECK(hp.n_embd == 32);
  CHECK(hp.n_embd_out == 32);
  CHECK(hp.head_dim == 8);
  CHECK(hp.pooling == "cls");
  CHECK_FALSE(hp.causal);
  CHECK_THROWS_WITH(embed_ids(*m.model, {{101, 7592, 102}}, "rank", 2), Catch::Contains("rank"));
}

TEST_CASE("bert: several texts in one forward pass equal each text alone") {
  LoadedModel m = load_golden_model("bert-synth");
  std::vector<std::vector<TokenId>> ids;
  for (const auto& c : golden_cases("bert-synth"))
    if (c.pooling == "none" && !c.fa) ids.push_back(c.ids);
  REQUIRE(ids.size() == 6);
  const auto together = embed_ids(*m.model, ids, "none", -1);
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto alone = embed_ids(*m.model, {ids[i]}, "none", -1);
    CHECK(max_abs_diff(alone[0].data.data(), together[i].data.data(), alone[0].data.size()) == 0.0f);
  }
}

TEST_CASE("bert: positions beyond position_embd are refused") {
  LoadedModel m = load_golden_model("bert-synth");
  std::vector<TokenId> ids(600, 1000);
  CHECK_THROWS_WITH(embed_ids(*m.model, {ids}, "cls", 2, 1024), Catch::Contains("600 tokens"));
}

TEST_CASE("the WordPiece tokenizer gives llama-tokenize's ids for every golden prompt") {
  check_golden_tokenization("bert-synth");
}

TEST_CASE("tessel embed --format npy equals llama-embedding's output (end to end)") {
  const auto model = shared_path("golden/models/bert-synth.gguf").string();
  const auto dir = temp_dir();
  for (const auto& c : golden_cases("bert-synth")) {
    if (c.fa || c.prompt_id != "p3_long") continue;
    INFO(c.file);
    const auto out = (dir / (c.pooling + std::to_string(c.normalize) + ".npy")).string();
    std::vector<std::string> args = {"embed", "-m", model, "-p", c.prompt, "--embd-normalize",
                                     std::to_string(c.normalize), "--format", "npy", "-o", out, "-t", "2"};
    if (c.pooling != "auto") args.insert(args.end(), {"--pooling", c.pooling});
    auto r = run_tessel(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto arr = read_npy(out);
    const int64_t rows = c.pooling == "none" ? int64_t(c.ids.size()) : 1;
    REQUIRE(arr.shape == std::vector<int64_t>{rows, 32});
    check_rows(arr.as_floats().data(), golden_values(c), rows, 32, bound_for(c), c.normalize);
  }
}
