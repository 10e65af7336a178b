#pragma once
// Shared by the embedding tests: the golden llama-embedding cases
// (golden/embeddings/index.json + sidecars), a model loaded through the
// plugin registry, and row-by-row comparison at the README's bounds.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support.hpp"
#include "tessel/embedding.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

namespace tessel::test {

struct GoldenCase {
  std::string file;        // relative to golden/
  std::string model;       // "gemma-embedding-synth", "bert-synth-Q8_0"...
  std::string prompt_id, prompt;
  std::string pooling;     // none | mean | cls | last | auto (the "default" files)
  int normalize = 2;
  bool fa = false;
  std::vector<TokenId> ids;
};

inline std::vector<GoldenCase> golden_cases(const std::string& model) {
  std::ifstream in(shared_path("golden/embeddings/index.json"));
  const auto index = nlohmann::json::parse(in);
  std::vector<GoldenCase> out;
  for (const auto& c : index.at("cases")) {
    const std::string file = c.at("file").get<std::string>();
    const std::string dir = "embeddings/" + model + "/";
    if (file.rfind(dir, 0) != 0) continue;
    GoldenCase g;
    g.file = file;
    g.model = model;
    g.prompt_id = c.at("prompt_id").get<std::string>();
    std::string pooling = c.at("pooling").get<std::string>();
    g.pooling = pooling.rfind("model default", 0) == 0 ? "auto" : pooling;
    g.normalize = c.at("embd_normalize").get<int>();
    g.fa = c.at("flash_attn").get<std::string>() == "on";
    std::string sidecar = file.substr(0, file.size() - 4) + ".json";
    std::ifstream sin(shared_path("golden/" + sidecar));
    const auto side = nlohmann::json::parse(sin);
    g.prompt = side.at("prompt").get<std::string>();
    g.ids = side.at("token_ids").get<std::vector<TokenId>>();
    out.push_back(std::move(g));
  }
  if (out.empty()) FAIL("no golden embedding cases for " << model);
  return out;
}

struct LoadedModel {
  std::shared_ptr<Registry> reg;
  std::shared_ptr<ModelFile> file;
  std::shared_ptr<CodecSet> codecs;
  std::shared_ptr<Model> model;
};

inline LoadedModel load_golden_model(const std::string& name, int threads = 2) {
  LoadedModel m;
  m.reg = make_registry({plugin_dir()});
  m.file = open_model_file(*m.reg, shared_path("golden/models/" + name + ".gguf"));
  m.codecs = load_codecs(*m.reg);
  RuntimeOptions o;
  o.threads = threads;
  m.model = load_model(*m.reg, m.file, m.codecs, o);
  return m;
}

inline std::vector<embed::Result> embed_ids(Model& model, const std::vector<std::vector<TokenId>>& ids,
                                            const std::string& pooling, int normalize, int n_batch = 512) {
  embed::Options o;
  o.pooling = embed::resolve_pooling(pooling, model.hparams());
  o.normalize = normalize;
  o.n_batch = n_batch;
  RuntimeOptions rt;
  rt.threads = 2;
  embed::Embedder e(model, rt, o);
  std::vector<embed::Input> inputs(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) inputs[i].tokens = ids[i];
  return e.embed(inputs);
}

// Per row: cosine >= min_cos and the norms agree (to 1e-3 at the F32 bound,
// 1e-2 at the quantized ones) so a wrong scale or normalization fails too;
// normalize 0 files hold values rounded to integers.
inline void check_rows(const float* got, const std::vector<float>& ref, int64_t rows, int64_t cols,
                       double min_cos, int normalize) {
  REQUIRE(ref.size() == size_t(rows * cols));
  double worst = 1.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = got + r * cols;
    const float* b = ref.data() + r * cols;
    const double c = cosine(a, b, size_t(cols));
    worst = std::min(worst, c);
    double na = 0, nb = 0;
    for (int64_t i = 0; i < cols; ++i) { na += double(a[i]) * a[i]; nb += double(b[i]) * b[i]; }
    INFO("row " << r << " cosine " << c << " norms " << std::sqrt(na) << " vs " << std::sqrt(nb));
    CHECK(c >= min_cos);
    const double rel = min_cos >= 0.99999 ? 1e-3 : 1e-2;
    CHECK(std::abs(std::sqrt(na) - std::sqrt(nb)) <= rel * std::sqrt(nb) + 1e-6);
    if (normalize == 0) {
      float mx = 0;
      for (int64_t i = 0; i < cols; ++i) mx = std::max(mx, std::abs(a[i]));
      CHECK(std::abs(mx - 32760.0f) < 0.01f);
    }
  }
  INFO("worst cosine " << worst);
  CHECK(worst >= min_cos);
}

inline std::vector<float> golden_values(const GoldenCase& c) {
  return read_npy(shared_path("golden/" + c.file)).as_floats();
}

// README bounds: F32 models 0.99999 per row; Q8_0 pooled 0.9995, per token 0.999.
// fa-on references differ from fa-off by llama.cpp's F16 accumulation; we run
// fa off and hold them to the quantized bounds.
inline double bound_for(const GoldenCase& c) {
  const bool q8 = c.model.find("Q8_0") != std::string::npos;
  if (!q8 && !c.fa) return 0.99999;
  return c.pooling == "none" ? 0.999 : 0.9995;
}

// Every golden case of `model`: the ids from the sidecar, pooling and
// normalization as recorded, one Embedder call per (pooling, normalize).
inline void check_all_golden(const std::string& model) {
  LoadedModel m = load_golden_model(model);
  const auto cases = golden_cases(model);
  size_t checked = 0;
  for (const GoldenCase& c : cases) {
    INFO(c.file);
    const auto res = embed_ids(*m.model, {c.ids}, c.pooling, c.normalize);
    REQUIRE(res.size() == 1);
    const auto ref = golden_values(c);
    const int64_t rows = c.pooling == "none" ? int64_t(c.ids.size()) : 1;
    REQUIRE(res[0].rows == rows);
    REQUIRE(size_t(res[0].rows * res[0].cols) == ref.size());
    check_rows(res[0].data.data(), ref, rows, res[0].cols, bound_for(c), c.normalize);
    ++checked;
  }
  CHECK(checked == cases.size());
}

// Our tokenizer against llama-tokenize's ids in the sidecars.
inline void check_golden_tokenization(const std::string& model) {
  LoadedModel m = load_golden_model(model);
  auto tok = make_tokenizer(*m.reg, m.file);
  for (const GoldenCase& c : golden_cases(model)) {
    INFO(c.prompt_id << ": " << c.prompt);
    CHECK(tok->encode(c.prompt, EncodeOptions{true, true}) == c.ids);
  }
}

}  // namespace tessel::test
