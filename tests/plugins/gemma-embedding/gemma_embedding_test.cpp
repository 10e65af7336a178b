// gemma-embedding-synth (F32 and Q8_0) against golden/embeddings: every
// prompt, pooling and normalization llama-embedding was run with; batching,
// the raw-row input path, tokenization and `tessel embed` end to end.
#include "golden_embed.hpp"

using namespace tessel;
using namespace tessel::test;

TEST_CASE("gemma-embedding-synth F32 matches every golden llama-embedding output") {
  check_all_golden("gemma-embedding-synth");
}

TEST_CASE("gemma-embedding-synth Q8_0 matches every golden llama-embedding output") {
  check_all_golden("gemma-embedding-synth-Q8_0");
}

TEST_CASE("gemma-embedding hparams come from the metadata") {
  LoadedModel m = load_golden_model("gemma-embedding-synth");
  const HParams& hp = m.model->hparams();
  CHECK(hp.arch == "gemma-embedding");
  CHECK(hp.n_embd == 256);
  CHECK(hp.n_embd_out == 256);  // dense_2 256 -> 512, dense_3 512 -> 256
  CHECK(hp.head_dim == 64);
  CHECK(hp.pooling == "mean");
  CHECK_FALSE(hp.causal);
  CHECK_FALSE(hp.has_logits);
}

TEST_CASE("several texts in one forward pass equal each text embedded alone") {
  LoadedModel m = load_golden_model("gemma-embedding-synth");
  std::vector<std::vector<TokenId>> ids;
  for (const auto& c : golden_cases("gemma-embedding-synth"))
    if (c.pooling == "none" && !c.fa) ids.push_back(c.ids);
  REQUIRE(ids.size() == 6);
  for (const char* pooling : {"none", "mean", "cls", "last"}) {
    INFO(pooling);
    const auto together = embed_ids(*m.model, ids, pooling, 2, 512);  // one batch
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto alone = embed_ids(*m.model, {ids[i]}, pooling, 2, 512);
      REQUIRE(alone[0].data.size() == together[i].data.size());
      CHECK(max_abs_diff(alone[0].data.data(), together[i].data.data(), alone[0].data.size()) == 0.0f);
    }
    // A small batch size splits the texts over several passes: same results.
    const auto split = embed_ids(*m.model, ids, pooling, 2, 70);
    for (size_t i = 0; i < ids.size(); ++i)
      CHECK(max_abs_diff(split[i].data.data(), together[i].data.data(), split[i].data.size()) == 0.0f);
  }
}

TEST_CASE("raw embedding rows are not scaled by sqrt(n_embd), token rows are") {
  LoadedModel m = load_golden_model("gemma-embedding-synth");
  const std::vector<TokenId> ids = {1, 346, 306, 414, 2};
  const int64_t E = m.model->hparams().n_embd;
  std::vector<float> rows(ids.size() * size_t(E));
  m.model->embed_tokens(ids, rows.data());
  for (float& v : rows) v *= std::sqrt(float(E));
  embed::Options o;
  o.pooling = embed::Pooling::none;
  o.normalize = -1;
  RuntimeOptions rt;
  rt.threads = 2;
  embed::Embedder e(*m.model, rt, o);
  embed::Input tok, raw;
  tok.tokens = ids;
  raw.embd = rows;
  const auto res = e.embed({tok, raw});
  REQUIRE(res[0].data.size() == res[1].data.size());
  CHECK(max_abs_diff(res[0].data.data(), res[1].data.data(), res[0].data.size()) == 0.0f);
}

TEST_CASE("an input longer than the batch size is refused with the numbers") {
  LoadedModel m = load_golden_model("gemma-embedding-synth");
  std::vector<TokenId> ids(40, 5);
  CHECK_THROWS_WITH(embed_ids(*m.model, {ids}, "mean", 2, 16),
                    Catch::Contains("40 tokens") && Catch::Contains("batch size 16"));
  CHECK_THROWS_WITH(embed_ids(*m.model, {{1, 99999, 2}}, "mean", 2), Catch::Contains("99999"));
}

TEST_CASE("the SPM tokenizer gives llama-tokenize's ids for every golden prompt") {
  check_golden_tokenization("gemma-embedding-synth");
}

TEST_CASE("tessel embed --format json equals llama-embedding's output (end to end)") {
  const auto model = shared_path("golden/models/gemma-embedding-synth.gguf").string();
  for (const auto& c : golden_cases("gemma-embedding-synth")) {
    if (c.fa || c.prompt_id != "p2_medium" || (c.pooling != "none" && c.pooling != "auto")) continue;
    INFO(c.file);
    std::vector<std::string> args = {"embed", "-m", model, "-p", c.prompt, "--embd-normalize",
                                     std::to_string(c.normalize), "--format", "json", "-t", "2"};
    if (c.pooling != "auto") args.insert(args.end(), {"--pooling", c.pooling});
    auto r = run_tessel(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("object") == "list");
    std::vector<float> got;
    int index = 0;
    for (const auto& d : j.at("data")) {
      CHECK(d.at("object") == "embedding");
      CHECK(d.at("index") == index++);
      for (const auto& v : d.at("embedding")) got.push_back(v.get<float>());
    }
    const auto ref = golden_values(c);
    const int64_t rows = c.pooling == "none" ? int64_t(c.ids.size()) : 1;
    REQUIRE(index == rows);
    check_rows(got.data(), ref, rows, 256, bound_for(c), c.normalize);
  }
}

TEST_CASE("tessel run configs/embeddinggemma.yaml runs the embed task") {
  const auto model = shared_path("golden/models/gemma-embedding-synth.gguf").string();
  const auto dir = temp_dir();
  const auto out = (dir / "e.npy").string();
  auto r = run_tessel({"run", (source_dir() / "configs" / "embeddinggemma.yaml").string(), "--set",
                       "embed.output=npy", "--set", "embed.out=" + out, "--set", "embed.dims=128",
                       "--set", "runtime.threads=2"},
                      120, {"EMBEDDINGGEMMA_GGUF=" + model});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto arr = read_npy(out);
  REQUIRE(arr.shape == std::vector<int64_t>{2, 128});
  const auto v = arr.as_floats();
  for (int row = 0; row < 2; ++row) {  // Matryoshka: truncated, then renormalized
    double n = 0;
    for (int i = 0; i < 128; ++i) n += double(v[row * 128 + i]) * v[row * 128 + i];
    CHECK(std::abs(n - 1.0) < 1e-5);
  }
}
