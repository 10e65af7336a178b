#pragma once
// Helpers shared by the inputs, gemma3 and clip tests: models loaded once per
// binary through the plugin registry, golden files, row comparisons.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/prompt.hpp"

namespace mm_test {

struct Loaded {
  std::shared_ptr<tessel::ModelFile> file;
  std::shared_ptr<tessel::Model> model;
  std::shared_ptr<tessel::Tokenizer> tok;
  std::unique_ptr<tessel::Context> ctx;
};

inline tessel::Registry& registry() {
  static auto reg = tessel::make_registry();
  return *reg;
}

// `rel` is relative to the shared folder (models/... or golden/models/...).
inline Loaded& load(const std::string& rel) {
  static std::map<std::string, Loaded> cache;
  auto it = cache.find(rel);
  if (it != cache.end()) {
    it->second.ctx->clear();
    return it->second;
  }
  static auto codecs = tessel::load_codecs(registry());
  tessel::RuntimeOptions o;
  o.n_ctx = 512;
  o.threads = 2;
  Loaded l;
  l.file = tessel::open_model_file(registry(), tessel::test::shared_path(rel));
  l.model = tessel::load_model(registry(), l.file, codecs, o);
  l.tok = tessel::make_tokenizer(registry(), l.file);
  l.ctx = l.model->new_context(o);
  return cache[rel] = std::move(l);
}

inline tessel::AdapterContext adapter_context(Loaded& l) {
  tessel::AdapterContext c;
  c.model_file = l.file.get();
  c.model = l.model.get();
  c.tokenizer = l.tok.get();
  c.registry = &registry();
  return c;
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

inline std::vector<float> floats(const std::string& golden_rel) {
  return tessel::read_npy(tessel::test::shared_path("golden/" + golden_rel)).as_floats();
}

// Per-row cosine >= min_cos; returns the smallest cosine seen.
inline double check_rows(const std::vector<float>& got, const std::vector<float>& want,
                         size_t width, double min_cos) {
  REQUIRE(got.size() == want.size());
  REQUIRE(width > 0);
  double worst = 1.0;
  for (size_t r = 0; r < got.size() / width; ++r) {
    const double c = tessel::test::cosine(got.data() + r * width, want.data() + r * width, width);
    worst = std::min(worst, c);
    INFO("row " << r << ": got[0] " << got[r * width] << " want[0] " << want[r * width]);
    CHECK(c >= min_cos);
  }
  return worst;
}

// top-1 equal wherever the reference's top-2 margin exceeds `margin`.
inline void check_top1(const std::vector<float>& got, const std::vector<float>& want,
                       size_t n_vocab, float margin = 0.05f) {
  for (size_t r = 0; r < want.size() / n_vocab; ++r) {
    const float* w = want.data() + r * n_vocab;
    const float* g = got.data() + r * n_vocab;
    const size_t wi = size_t(std::max_element(w, w + n_vocab) - w);
    const size_t gi = size_t(std::max_element(g, g + n_vocab) - g);
    float second = -INFINITY;
    for (size_t i = 0; i < n_vocab; ++i)
      if (i != wi) second = std::max(second, w[i]);
    if (w[wi] - second > margin) {
      INFO("row " << r);
      CHECK(gi == wi);
    }
  }
}

// Keeps the last tensor of each name a forward pass emits.
struct Collect : tessel::TensorSink {
  std::map<std::string, std::vector<float>> t;
  void on_tensor(const std::string& name, const float* d, std::span<const int64_t> ne) override {
    size_t n = 1;
    for (int64_t v : ne) n *= size_t(v);
    t[name].assign(d, d + n);
  }
};

}  // namespace mm_test
