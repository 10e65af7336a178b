// Each decoder architecture at shapes of its own (head counts, head sizes,
// GQA ratios, layer counts none of the goldens use; tied and untied output
// heads), built by `tessel synth --shape`:
// hparams come from the file, the logits match llama.cpp's (recorded in
// synth_shapes_llama_cpp.json from the same seeded F32 files), a prompt decoded
// at once equals it decoded token by token (KV cache, GQA, RoPE positions),
// and `tessel generate` runs.
#include "arch2_golden.hpp"
#include "tessel/error.hpp"
#include "tessel/synth.hpp"

using namespace arch2;

namespace {

struct Case {
  const char* preset;
  const char* arch;
  const char* shape;
};

// n_vocab 300: the SPM byte tokens and a few pieces; head_dim != n_embd / n_head where it may.
const Case kCases[] = {
    {"qwen2.5-0.5b", "qwen2", "n_embd=64,n_layer=3,n_head=4,n_head_kv=1,head_dim=16,n_ff=96,n_vocab=300,n_ctx=64"},
    {"qwen3-0.6b", "qwen3", "n_embd=64,n_layer=2,n_head=2,n_head_kv=2,head_dim=48,n_ff=128,n_vocab=300,n_ctx=64"},
    {"phi-3-mini", "phi3", "n_embd=96,n_layer=3,n_head=6,n_head_kv=2,head_dim=16,n_ff=64,n_vocab=300,n_ctx=64"},
    {"gemma-2-2b", "gemma2", "n_embd=64,n_layer=3,n_head=4,n_head_kv=2,head_dim=32,n_ff=128,n_vocab=300,n_ctx=64"},
    {"llama-3.2-1b", "llama", "n_embd=64,n_layer=2,n_head=8,n_head_kv=2,head_dim=8,n_ff=128,n_vocab=300,n_ctx=64"},
    // Untied heads, key_length != n_embd / n_head, 3:1 and 4:1 GQA, odd layer counts.
    {"tinyllama-1.1b", "llama", "n_embd=64,n_layer=3,n_head=6,n_head_kv=2,head_dim=16,n_ff=64,n_vocab=300,n_ctx=64"},
    {"qwen2.5-0.5b", "qwen2", "n_embd=96,n_layer=3,n_head=6,n_head_kv=2,head_dim=16,n_ff=96,n_vocab=300,n_ctx=64,tied=0"},
    {"gemma-3-1b", "gemma3", "n_embd=64,n_layer=3,n_head=4,n_head_kv=1,head_dim=32,n_ff=96,n_vocab=300,n_ctx=64,tied=0"},
    {"gemma-3-1b", "gemma3", "n_embd=32,n_layer=1,n_head=2,n_head_kv=2,head_dim=32,n_ff=64,n_vocab=300,n_ctx=64"},
    {"qwen3-0.6b", "qwen3", "n_embd=32,n_layer=3,n_head=4,n_head_kv=2,head_dim=16,n_ff=64,n_vocab=300,n_ctx=64,tied=0"},
    {"phi-3-mini", "phi3", "n_embd=64,n_layer=1,n_head=4,n_head_kv=4,head_dim=16,n_ff=96,n_vocab=300,n_ctx=64,tied=1"},
};

void check_in_process(const Case& c) {
  INFO(c.preset << " --shape " << c.shape);
  tessel::synth::Found f = tessel::synth::find_preset(registry(), c.preset);
  tessel::synth::override_shape(f.preset.shape, c.shape);
  const tessel::SynthShape& p = f.preset.shape;
  // The recorded llama.cpp logits are of these exact files: seed 11, F32.
  std::shared_ptr<tessel::ModelFile> file = tessel::synth::make_model(f, 11, 2);
  static auto codecs = tessel::load_codecs(registry());
  tessel::RuntimeOptions o;
  o.threads = 2;
  auto model = tessel::load_model(registry(), file, codecs, o);
  const auto& hp = model->hparams();
  CHECK(hp.arch == c.arch);
  CHECK(hp.n_embd == p.n_embd);
  CHECK(hp.n_layer == p.n_layer);
  CHECK(hp.n_head == p.n_head);
  CHECK(hp.n_head_kv == p.n_head_kv);
  CHECK(hp.head_dim == p.head_dim);
  CHECK(hp.n_ff == p.n_ff);
  CHECK(hp.n_vocab == p.n_vocab);
  const json ref = read_json(tessel::test::source_dir() / "tests/plugins/arch2/synth_shapes_llama_cpp.json");
  REQUIRE(ref["seed"] == 11);
  const auto ids = ids_of(ref);
  Loaded l{model, model->new_context(o)};
  const auto all = all_logits(l, ids);
  const size_t V = size_t(p.n_vocab);
  REQUIRE(all.size() == ids.size() * V);
  bool compared = false;
  for (const auto& m : ref["models"]) {
    if (m["preset"] != c.preset || m["shape"] != c.shape) continue;
    const auto last = m["last_row"].get<std::vector<float>>();
    REQUIRE(last.size() == V);
    const float* ours = all.data() + (ids.size() - 1) * V;
    CHECK(tessel::test::cosine(last.data(), ours, V) >= 0.9999);
    CHECK(tessel::test::max_abs_diff(last.data(), ours, V) <= 0.01f);
    for (size_t t = 0; t < ids.size(); ++t)
      if (m["margin"][t].get<float>() > 0.05f) CHECK(argmax(all.data() + t * V, V) == m["argmax"][t].get<size_t>());
    compared = true;
  }
  CHECK(compared);
  l.ctx->clear();
  for (size_t i = 0; i < ids.size(); ++i) {
    tessel::Batch b;
    b.add_token(ids[i], int32_t(i), 0, true);
    tessel::Outputs out;
    model->forward(b, *l.ctx, out);
    REQUIRE(out.logits.size() == V);
    INFO("position " << i);
    CHECK(tessel::test::cosine(all.data() + i * V, out.logits.data(), V) >= 0.99999);
    CHECK(tessel::test::max_abs_diff(all.data() + i * V, out.logits.data(), V) <= 1e-3f);
  }
  for (float v : all) REQUIRE(std::isfinite(v));
}

void check_cli(const Case& c) {
  const auto out = tessel::test::temp_dir() / (std::string(c.preset) + ".gguf");
  auto r = tessel::test::run_tessel({"synth", "--preset", c.preset, "--shape", c.shape, "--type", "Q8_0",
                                     "-o", out.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = tessel::test::run_tessel({"generate", "-m", out.string(), "-p", "Once upon a time", "-n", "6",
                                "--temp", "0", "-t", "2"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(!r.out.empty());
}

}  // namespace

TEST_CASE("synth shapes: every decoder loads its shape from the file and matches llama.cpp") {
  for (const Case& c : kCases) check_in_process(c);
}

TEST_CASE("synth shapes: tessel synth --shape then generate, per architecture") {
  for (const Case& c : kCases) check_cli(c);
}

TEST_CASE("synth shapes: a bad --shape is one line naming it") {
  auto r = tessel::test::run_tessel({"synth", "--preset", "qwen3-0.6b", "--shape", "n_heads=4", "-o",
                                     (tessel::test::temp_dir() / "x.gguf").string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("n_heads=4") != std::string::npos);
  r = tessel::test::run_tessel({"synth", "--preset", "qwen3-0.6b", "--shape", "n_head=5", "-o",
                                (tessel::test::temp_dir() / "x.gguf").string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("n_head_kv") != std::string::npos);
}

namespace {

// A tiny synth model of `preset`, changed by `edit`, loaded: the error text.
template <class Edit>
std::string load_error(const char* preset, Edit edit) {
  tessel::synth::Found f = tessel::synth::find_preset(registry(), preset);
  tessel::synth::override_shape(f.preset.shape, "n_embd=64,n_layer=2,n_head=4,n_head_kv=2,head_dim=16,n_ff=64,n_vocab=300");
  std::shared_ptr<tessel::ModelFile> file = tessel::synth::make_model(f, 1, 1);
  edit(*file);
  file->build_index();
  static auto codecs = tessel::load_codecs(registry());
  try {
    tessel::load_model(registry(), file, codecs, {});
  } catch (const tessel::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("synth shapes: files the new architectures can't run are refused naming the tensor or key") {
  auto drop = [](const std::string& name) {
    return [name](tessel::ModelFile& f) {
      std::erase_if(f.tensors, [&](const tessel::TensorInfo& t) { return t.name == name; });
    };
  };
  CHECK_THAT(load_error("qwen3-0.6b", drop("blk.1.attn_k_norm.weight")), Catch::Contains("attn_k_norm"));
  CHECK_THAT(load_error("phi-3-mini", drop("blk.0.attn_qkv.weight")), Catch::Contains("blk.0.attn_q.weight"));
  CHECK_THAT(load_error("gemma-2-2b", drop("blk.1.post_ffw_norm.weight")), Catch::Contains("post_ffw_norm"));
  CHECK_THAT(load_error("qwen2.5-0.5b", [](tessel::ModelFile& f) {
               f.meta.set("qwen2.rope.dimension_count", tessel::MetaValue::of_u32(8));
             }),
             Catch::Contains("qwen2.rope.dimension_count"));
  // gemma2 ties its output head always: an output.weight is a tensor it would ignore.
  CHECK_THAT(load_error("gemma-2-2b", [](tessel::ModelFile& f) {
               tessel::TensorInfo t = f.tensors.front();
               t.name = "output.weight";
               f.tensors.push_back(t);
             }),
             Catch::Contains("output.weight"));
}
