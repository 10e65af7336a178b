#pragma once
// Shared helpers for the llama tests: models loaded once per binary through
// the plugin registry, golden files, and the README's comparison bounds.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

namespace llama_test {

struct Loaded {
  std::shared_ptr<tessel::Model> model;
  std::unique_ptr<tessel::Context> ctx;
};

inline tessel::Registry& registry() {
  static auto reg = tessel::make_registry();
  return *reg;
}

// Loaded once per model path; the context is cleared by each run.
inline Loaded& load(const std::string& rel, bool kv_f16 = true, bool flash = false) {
  static std::map<std::string, Loaded> cache;
  const std::string key = rel + (kv_f16 ? "" : "#f32") + (flash ? "#fa" : "");
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto file = tessel::open_model_file(registry(), tessel::test::shared_path(rel));
  static auto codecs = tessel::load_codecs(registry());
  tessel::RuntimeOptions o;
  o.n_ctx = 512;
  o.threads = 2;
  o.kv_f16 = kv_f16;
  o.flash_attn = flash;
  Loaded l;
  l.model = tessel::load_model(registry(), file, codecs, o);
  l.ctx = l.model->new_context(o);
  return cache[key] = std::move(l);
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

inline std::vector<float> read_floats(const std::filesystem::path& p) {
  return tessel::read_npy(p).as_floats();
}

// Logits of every position of `ids`, decoded as one batch from position 0.
inline std::vector<float> all_logits(Loaded& l, const std::vector<tessel::TokenId>& ids) {
  l.ctx->clear();
  tessel::Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, true);
  tessel::Outputs out;
  l.model->forward(b, *l.ctx, out);
  return out.logits;
}

inline size_t argmax(const float* v, size_t n) {
  return size_t(std::max_element(v, v + n) - v);
}
inline float top2_margin(const float* v, size_t n) {
  float a = -INFINITY, b = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    if (v[i] > a) { b = a; a = v[i]; }
    else if (v[i] > b) b = v[i];
  }
  return a - b;
}

struct Bounds {
  double min_cos = 0.99999;
  double max_abs = INFINITY;
  bool top1_where_margin = true;     // top-1 equal where the reference margin > 0.05
  double min_top1_fraction = 0.0;    // quantized: top-1 equal at >= this fraction
};

inline void compare_logits(const std::vector<float>& ref, const std::vector<float>& ours, size_t n_vocab,
                           const Bounds& b, const std::string& what) {
  INFO(what);
  REQUIRE(ours.size() == ref.size());
  const size_t n = ref.size() / n_vocab;
  size_t top1_equal = 0;
  for (size_t t = 0; t < n; ++t) {
    const float* r = ref.data() + t * n_vocab;
    const float* o = ours.data() + t * n_vocab;
    INFO("position " << t);
    CHECK(tessel::test::cosine(r, o, n_vocab) >= b.min_cos);
    if (std::isfinite(b.max_abs)) CHECK(tessel::test::max_abs_diff(r, o, n_vocab) <= b.max_abs);
    const bool same = argmax(r, n_vocab) == argmax(o, n_vocab);
    top1_equal += same;
    if (b.top1_where_margin && top2_margin(r, n_vocab) > 0.05f) CHECK(same);
  }
  CHECK(double(top1_equal) >= b.min_top1_fraction * double(n));
}

}  // namespace llama_test
