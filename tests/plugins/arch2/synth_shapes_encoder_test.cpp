// The encoders and the vision tower at shapes of their own, built by the
// plugins' synth recipes: EmbeddingGemma with n_head * head_dim != n_embd
// (attention.key_length) and 3 query heads per KV head, BERT with grouped K/V
// heads and an odd layer count, clip at a small image. Each file loads with
// the shape it was written with and gives finite outputs; the encoders give
// a text the same rows alone as next to another sequence in one batch.
#include <cmath>

#include "llama_fixture.hpp"
#include "tessel/error.hpp"
#include "tessel/synth.hpp"
#include "tessel/vision.hpp"

using namespace llama_test;

namespace {

std::shared_ptr<tessel::Model> synth_model(const char* preset, const char* shape, tessel::SynthPreset* out = nullptr) {
  tessel::synth::Found f = tessel::synth::find_preset(registry(), preset);
  tessel::synth::override_shape(f.preset.shape, shape);
  if (out) *out = f.preset;
  std::shared_ptr<tessel::ModelFile> file = tessel::synth::make_model(f, 7, 2);
  static auto codecs = tessel::load_codecs(registry());
  tessel::RuntimeOptions o;
  o.threads = 2;
  return tessel::load_model(registry(), file, codecs, o);
}

// Hidden rows of `ids` as sequence 0, alone and then with `other` as sequence 1 in the same batch.
void check_encoder(const char* preset, const char* shape) {
  INFO(preset << " --shape " << shape);
  tessel::SynthPreset p;
  auto model = synth_model(preset, shape, &p);
  const auto& hp = model->hparams();
  CHECK_FALSE(hp.causal);
  CHECK(hp.n_embd == p.shape.n_embd);
  CHECK(hp.n_layer == p.shape.n_layer);
  CHECK(hp.n_head == p.shape.n_head);
  CHECK(hp.n_head_kv == p.shape.n_head_kv);
  CHECK(hp.head_dim == p.shape.head_dim);
  tessel::RuntimeOptions o;
  o.threads = 2;
  auto ctx = model->new_context(o);
  const std::vector<tessel::TokenId> ids = {1, 270, 281, 299, 263, 2}, other = {1, 290, 2};
  auto run = [&](bool both) {
    tessel::Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, true);
    if (both)
      for (size_t i = 0; i < other.size(); ++i) b.add_token(other[i], int32_t(i), 1, true);
    tessel::Outputs out;
    out.want_hidden = true;
    model->forward(b, *ctx, out);
    REQUIRE(out.hidden.size() == b.size() * size_t(hp.n_embd));
    return out.hidden;
  };
  const auto alone = run(false), both = run(true);
  for (float v : both) REQUIRE(std::isfinite(v));
  const size_t n = ids.size() * size_t(hp.n_embd);
  CHECK(tessel::test::max_abs_diff(alone.data(), both.data(), n) <= 1e-4f);
  std::vector<float> pooled;
  model->pooled_head(std::span<const float>(alone.data(), size_t(hp.n_embd)), 1, pooled, *ctx);
  CHECK(pooled.size() == size_t(hp.n_embd_out));
  for (float v : pooled) REQUIRE(std::isfinite(v));
}

}  // namespace

TEST_CASE("synth shapes: gemma-embedding with key_length != n_embd / n_head, 3:1 GQA, 3 layers") {
  check_encoder("embeddinggemma-300m", "n_embd=64,n_layer=3,n_head=3,n_head_kv=1,head_dim=32,n_ff=96,n_vocab=300,n_ctx=64");
}

TEST_CASE("synth shapes: bert with 4 query heads per 2 KV heads, 3 layers") {
  check_encoder("bge-small", "n_embd=64,n_layer=3,n_head=4,n_head_kv=2,head_dim=16,n_ff=96,n_vocab=300,n_ctx=64");
  // llama.cpp's BERT has Q and the output projection n_embd wide.
  CHECK_THROWS_WITH(synth_model("bge-small", "n_embd=64,n_head=4,n_head_kv=4,head_dim=32"), Catch::Contains("n_head * head_dim"));
}

TEST_CASE("synth shapes: clip at a 112-pixel image, 3 layers, projected to 48") {
  tessel::SynthPreset p;
  auto model = synth_model("siglip-gemma3", "n_embd=64,n_layer=3,n_head=4,n_head_kv=4,n_ff=96,n_vocab=48,n_ctx=112", &p);
  auto* vm = dynamic_cast<tessel::VisionModel*>(model.get());
  REQUIRE(vm);
  const auto& v = vm->vision();
  CHECK(v.image_size == 112);
  CHECK(v.n_layer == 3);
  CHECK(v.n_embd_out == 48);
  CHECK(v.n_output_rows() == 4);  // 8 x 8 patches pooled 4 x 4
  std::vector<float> pixels(3 * 112 * 112);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = float(i % 97) / 48.0f - 1.0f;
  const auto rows = vm->encode(pixels, 112, 112);
  REQUIRE(rows.size() == 4 * 48);
  for (float x : rows) REQUIRE(std::isfinite(x));
  CHECK_THROWS_WITH(synth_model("siglip-gemma3", "n_ctx=100"), Catch::Contains("multiple of 56"));
}

TEST_CASE("synth --list names every architecture plugin's presets") {
  const auto r = tessel::test::run_tessel({"synth", "--list"});
  REQUIRE(r.exit_code == 0);
  for (const char* name : {"tinyllama-1.1b", "llama-3.2-1b", "qwen2.5-0.5b", "qwen3-0.6b", "phi-3-mini", "gemma-2-2b",
                           "gemma-3-1b", "embeddinggemma-300m", "bge-small", "siglip-gemma3"})
    CHECK_THAT(r.out, Catch::Contains(name));
}
