// Phi-3 LongRoPE (Phi-3-mini-128k, Phi-3.5): a synthetic phi3 with
// rope_factors_long / rope_factors_short tensors, an original context of 300
// and rope.scaling.attn_factor 1.19, against llama.cpp's logits for the same
// file (longrope_llama_cpp.json: tools/refdump over the reference libllama,
// REFDUMP_N_CTX 512 and 256). llama.cpp takes the long factors when its
// n_ctx_seq — the context rounded up to a multiple of 256 — exceeds the
// original context, so a context of 290 uses the long ones too.
//
// To record the reference again: TESSEL_LONGROPE_GGUF=/tmp/longrope.gguf runs
// write the file there; then `REFDUMP_N_CTX=N refdump /tmp/longrope.gguf OUT ids...`.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "tessel/format.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/synth.hpp"

using json = nlohmann::json;

namespace {

tessel::Registry& registry() {
  static auto reg = tessel::make_registry();
  return *reg;
}

// n_dims / 2 = 8 factors each: the long ones stretch low frequencies a lot.
const std::vector<float> kLong = {1.0f, 1.5f, 2.5f, 4.0f, 7.0f, 12.0f, 20.0f, 32.0f};
const std::vector<float> kShort = {1.0f, 1.0f, 1.05f, 1.1f, 1.2f, 1.3f, 1.5f, 1.8f};

std::shared_ptr<tessel::ModelFile> longrope_file() {
  static std::shared_ptr<tessel::ModelFile> file = [] {
    tessel::synth::Found p = tessel::synth::find_preset(registry(), "phi-3-mini");
    tessel::synth::override_shape(p.preset.shape,
                                  "n_embd=96,n_layer=2,n_head=6,n_head_kv=2,head_dim=16,n_ff=64,n_vocab=300,n_ctx=4096");
    std::shared_ptr<tessel::ModelFile> f = tessel::synth::make_model(p, 11, 2);
    f->meta.set("phi3.rope.scaling.original_context_length", tessel::MetaValue::of_u32(300));
    f->meta.set("phi3.rope.scaling.attn_factor", tessel::MetaValue::of_f32(1.19f));
    for (const auto& [name, values] : {std::pair{"rope_factors_long.weight", &kLong}, {"rope_factors_short.weight", &kShort}}) {
      tessel::TensorInfo t;
      t.name = name;
      t.type = tessel::TypeId::F32;
      t.n_dims = 1;
      t.ne = {int64_t(values->size()), 1, 1, 1};
      t.data = std::as_bytes(std::span<const float>(*values));
      f->tensors.push_back(t);
    }
    f->build_index();
    if (const char* out = std::getenv("TESSEL_LONGROPE_GGUF")) {
      std::vector<tessel::TensorToWrite> w;
      for (const auto& t : f->tensors) w.push_back({t.name, t.type, t.n_dims, t.ne, t.data});
      registry().create<tessel::WeightFormat>("format", "gguf")->write(out, f->meta, w);
    }
    return f;
  }();
  return file;
}

// Logits of every position of `ids` decoded at once.
std::vector<float> logits(int n_ctx, int n_seq, const std::vector<tessel::TokenId>& ids) {
  static auto codecs = tessel::load_codecs(registry());
  tessel::RuntimeOptions o;
  o.threads = 2;
  o.n_ctx = n_ctx;
  o.n_seq = n_seq;
  auto model = tessel::load_model(registry(), longrope_file(), codecs, o);
  auto ctx = model->new_context(o);
  tessel::Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, true);
  tessel::Outputs out;
  model->forward(b, *ctx, out);
  return out.logits;
}

size_t argmax(const float* v, size_t n) { return size_t(std::max_element(v, v + n) - v); }

}  // namespace

TEST_CASE("phi3 LongRoPE: long and short factors as llama.cpp picks them, attn_factor applied") {
  REQUIRE(longrope_file()->find("rope_factors_long.weight"));
  std::ifstream in(tessel::test::source_dir() / "tests/plugins/phi3/longrope_llama_cpp.json");
  REQUIRE(in);
  const json ref = json::parse(in);
  const auto ids = ref["token_ids"].get<std::vector<tessel::TokenId>>();
  constexpr size_t V = 300;
  const auto last = [&](const std::vector<float>& all) { return all.data() + (ids.size() - 1) * V; };
  const auto ref_long = ref["n_ctx_512"]["last_row"].get<std::vector<float>>();
  const auto ref_short = ref["n_ctx_256"]["last_row"].get<std::vector<float>>();
  REQUIRE(ref_long.size() == V);
  REQUIRE(ref_short.size() == V);
  // The two choices differ, so picking the wrong one fails below.
  REQUIRE(tessel::test::max_abs_diff(ref_long.data(), ref_short.data(), V) > 0.05f);
  struct Case {
    int n_ctx, n_seq;
    const char* ref;
  };
  // 290 rounds up to 512 > 300: long. Two sequences of 512 get 256 each: short.
  for (const Case c : {Case{512, 1, "n_ctx_512"}, Case{256, 1, "n_ctx_256"}, Case{290, 1, "n_ctx_512"},
                       Case{512, 2, "n_ctx_256"}}) {
    INFO("n_ctx " << c.n_ctx << ", n_seq " << c.n_seq << " vs llama.cpp's " << c.ref);
    const auto all = logits(c.n_ctx, c.n_seq, ids);
    REQUIRE(all.size() == ids.size() * V);
    const auto want = ref[c.ref]["last_row"].get<std::vector<float>>();
    CHECK(tessel::test::cosine(want.data(), last(all), V) >= 0.9999);
    CHECK(tessel::test::max_abs_diff(want.data(), last(all), V) <= 0.01f);
    for (size_t t = 0; t < ids.size(); ++t)
      if (ref[c.ref]["margin"][t].get<float>() > 0.05f)
        CHECK(argmax(all.data() + t * V, V) == ref[c.ref]["argmax"][t].get<size_t>());
  }
}
