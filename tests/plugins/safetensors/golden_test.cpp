// Golden GGUFs turned back into Hugging Face checkpoints (HF names, HF
// layouts: rotate-half q/k for llama, un-shifted Gemma norms, config.json
// from the GGUF keys), then opened through the safetensors plugin: every
// tensor must come back with the GGUF's bytes, every `<arch>.*` key with the
// GGUF's value, and the logits must match llama.cpp's golden logits.
// The inverse mapping here is written independently of the plugin's tables.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "checkpoint_writer.hpp"
#include "support.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

tessel::Registry& registry() {
  static auto reg = tessel::make_registry({tessel::test::plugin_dir()});
  return *reg;
}
tessel::CodecSet& codecs() {
  static auto c = tessel::load_codecs(registry());
  return *c;
}

// GGUF name suffix (after blk.N.) -> HF name, per layout family.
std::string hf_name(const std::string& family, const std::string& gguf) {
  static const std::map<std::string, std::map<std::string, std::string>> kLayer = {
      {"decoder", {{"attn_norm.weight", "input_layernorm.weight"}, {"attn_q.weight", "self_attn.q_proj.weight"},
                   {"attn_k.weight", "self_attn.k_proj.weight"}, {"attn_v.weight", "self_attn.v_proj.weight"},
                   {"attn_q.bias", "self_attn.q_proj.bias"}, {"attn_k.bias", "self_attn.k_proj.bias"},
                   {"attn_v.bias", "self_attn.v_proj.bias"}, {"attn_output.weight", "self_attn.o_proj.weight"},
                   {"attn_q_norm.weight", "self_attn.q_norm.weight"}, {"attn_k_norm.weight", "self_attn.k_norm.weight"},
                   {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
                   {"ffn_up.weight", "mlp.up_proj.weight"}, {"ffn_down.weight", "mlp.down_proj.weight"}}},
      {"gemma3", {{"attn_norm.weight", "input_layernorm.weight"}, {"attn_q.weight", "self_attn.q_proj.weight"},
                  {"attn_k.weight", "self_attn.k_proj.weight"}, {"attn_v.weight", "self_attn.v_proj.weight"},
                  {"attn_output.weight", "self_attn.o_proj.weight"}, {"attn_q_norm.weight", "self_attn.q_norm.weight"},
                  {"attn_k_norm.weight", "self_attn.k_norm.weight"},
                  {"post_attention_norm.weight", "post_attention_layernorm.weight"},
                  {"ffn_norm.weight", "pre_feedforward_layernorm.weight"},
                  {"post_ffw_norm.weight", "post_feedforward_layernorm.weight"},
                  {"ffn_gate.weight", "mlp.gate_proj.weight"}, {"ffn_up.weight", "mlp.up_proj.weight"},
                  {"ffn_down.weight", "mlp.down_proj.weight"}}},
      {"bert", {{"attn_q.weight", "attention.self.query.weight"}, {"attn_q.bias", "attention.self.query.bias"},
                {"attn_k.weight", "attention.self.key.weight"}, {"attn_k.bias", "attention.self.key.bias"},
                {"attn_v.weight", "attention.self.value.weight"}, {"attn_v.bias", "attention.self.value.bias"},
                {"attn_output.weight", "attention.output.dense.weight"}, {"attn_output.bias", "attention.output.dense.bias"},
                {"attn_output_norm.weight", "attention.output.LayerNorm.weight"},
                {"attn_output_norm.bias", "attention.output.LayerNorm.bias"},
                {"ffn_up.weight", "intermediate.dense.weight"}, {"ffn_up.bias", "intermediate.dense.bias"},
                {"ffn_down.weight", "output.dense.weight"}, {"ffn_down.bias", "output.dense.bias"},
                {"layer_output_norm.weight", "output.LayerNorm.weight"}, {"layer_output_norm.bias", "output.LayerNorm.bias"}}},
  };
  static const std::map<std::string, std::string> kDecoderTop = {
      {"token_embd.weight", "model.embed_tokens.weight"}, {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"}};
  static const std::map<std::string, std::string> kBertTop = {
      {"token_embd.weight", "embeddings.word_embeddings.weight"},
      {"position_embd.weight", "embeddings.position_embeddings.weight"},
      {"token_types.weight", "embeddings.token_type_embeddings.weight"},
      {"token_embd_norm.weight", "embeddings.LayerNorm.weight"}, {"token_embd_norm.bias", "embeddings.LayerNorm.bias"}};
  if (gguf.rfind("blk.", 0) == 0) {
    const size_t dot = gguf.find('.', 4);
    const std::string n = gguf.substr(4, dot - 4), rest = gguf.substr(dot + 1);
    const std::string& hf = kLayer.at(family).at(rest);
    return (family == "bert" ? "encoder.layer." : "model.layers.") + n + "." + hf;
  }
  return (family == "bert" ? kBertTop : kDecoderTop).at(gguf);
}

struct Case {
  std::string gguf;        // relative to the shared folder
  std::string hf_class;
  std::string family;      // decoder | gemma3 | bert
  bool unpermute = false;  // llama: GGUF interleaved -> HF rotate-half
  bool shift_norms = false;
  std::string logits_dir;  // golden logits, relative to shared
};

// config.json a Hugging Face checkpoint of this model would carry.
json config_from(const tessel::ModelFile& g, const Case& c) {
  const tessel::Metadata& m = g.meta;
  const std::string a = m.get_string("general.architecture") + ".";
  json j;
  j["architectures"] = {c.hf_class};
  j["hidden_size"] = m.get_int(a + "embedding_length");
  j["num_hidden_layers"] = m.get_int(a + "block_count");
  j["intermediate_size"] = m.get_int(a + "feed_forward_length");
  j["num_attention_heads"] = m.get_int(a + "attention.head_count");
  if (m.has(a + "attention.head_count_kv")) j["num_key_value_heads"] = m.get_int(a + "attention.head_count_kv");
  j["max_position_embeddings"] = m.get_int(a + "context_length");
  j["vocab_size"] = int64_t(m.get_strings("tokenizer.ggml.tokens").size());
  if (m.has(a + "rope.freq_base")) j["rope_theta"] = m.get_float(a + "rope.freq_base");
  if (m.has(a + "attention.layer_norm_rms_epsilon")) j["rms_norm_eps"] = m.get_float(a + "attention.layer_norm_rms_epsilon");
  if (m.has(a + "attention.layer_norm_epsilon")) j["layer_norm_eps"] = m.get_float(a + "attention.layer_norm_epsilon");
  if (m.has(a + "attention.key_length")) j["head_dim"] = m.get_int(a + "attention.key_length");
  if (m.has(a + "attention.sliding_window")) j["sliding_window"] = m.get_int(a + "attention.sliding_window");
  if (m.has(a + "attention.sliding_window_pattern"))
    j["sliding_window_pattern"] = m.get_int(a + "attention.sliding_window_pattern");
  if (m.has("tokenizer.ggml.token_type_count")) j["type_vocab_size"] = m.get_int("tokenizer.ggml.token_type_count");
  j["tie_word_embeddings"] = g.find("output.weight") == nullptr;
  if (g.find("rope_freqs.weight"))  // llama3-synth's recipe (synth_info.json)
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  return j;
}

std::vector<float> floats_of(const tessel::TensorInfo& t) {
  std::vector<float> v(size_t(t.n_elements()));
  codecs().get(t.type, t.name).to_float(t.data.data(), v.data(), v.size());
  return v;
}

// Writes the checkpoint for `c` into a fresh folder and returns it with the golden file.
std::pair<fs::path, std::shared_ptr<tessel::ModelFile>> write_checkpoint(const Case& c) {
  auto g = tessel::open_model_file(registry(), tessel::test::shared_path(c.gguf));
  const fs::path dir = tessel::test::temp_dir() / "ckpt";
  fs::create_directories(dir);
  std::vector<st_test::Tensor> out;
  const std::string a = g->meta.get_string("general.architecture") + ".";
  for (const auto& t : g->tensors) {
    if (t.name == "rope_freqs.weight") continue;  // regenerated from rope_scaling
    st_test::Tensor s;
    s.name = hf_name(c.family, t.name);
    for (int d = t.n_dims - 1; d >= 0; --d) s.shape.push_back(t.ne[size_t(d)]);
    if (t.type == tessel::TypeId::F16) {
      s.dtype = "F16";
      s.bytes.assign(t.data.begin(), t.data.end());
    } else {
      std::vector<float> v = floats_of(t);
      if (c.shift_norms && t.name.find("norm.weight") != std::string::npos)
        for (auto& x : v) x -= 1.0f;
      s = st_test::f32_tensor(s.name, s.shape, v);
    }
    const bool q = t.name.find("attn_q.") != std::string::npos, k = t.name.find("attn_k.") != std::string::npos;
    if (c.unpermute && (q || k)) {
      // GGUF row h*d + 2i + j came from HF row h*d + j*d/2 + i.
      const int64_t heads = g->meta.get_int(a + (q ? "attention.head_count" : "attention.head_count_kv"));
      const int64_t rows = s.shape[0], d = rows / heads, half = d / 2;
      const size_t rb = s.bytes.size() / size_t(rows);
      std::vector<std::byte> hf(s.bytes.size());
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < half; ++i)
          for (int64_t jj = 0; jj < 2; ++jj)
            std::memcpy(hf.data() + size_t(h * d + jj * half + i) * rb, s.bytes.data() + size_t(h * d + 2 * i + jj) * rb, rb);
      s.bytes = std::move(hf);
    }
    out.push_back(std::move(s));
  }
  // Two shards and an index, as large checkpoints come.
  const size_t cut = out.size() / 2;
  std::vector<st_test::Tensor> first(out.begin(), out.begin() + long(cut)), second(out.begin() + long(cut), out.end());
  st_test::write_safetensors(dir / "model-00001-of-00002.safetensors", first);
  st_test::write_safetensors(dir / "model-00002-of-00002.safetensors", second);
  json index;
  for (const auto& t : first) index["weight_map"][t.name] = "model-00001-of-00002.safetensors";
  for (const auto& t : second) index["weight_map"][t.name] = "model-00002-of-00002.safetensors";
  st_test::write_json(dir / "model.safetensors.index.json", index);
  st_test::write_json(dir / "config.json", config_from(*g, c));
  if (g->meta.has(a + "pooling_type")) {  // sentence-transformers says how to pool
    const int64_t kind = g->meta.get_int(a + "pooling_type");
    st_test::write_json(dir / "modules.json", json::array({{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
                                                          {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}}}));
    fs::create_directories(dir / "1_Pooling");
    st_test::write_json(dir / "1_Pooling" / "config.json", {{"pooling_mode_mean_tokens", kind == 1}, {"pooling_mode_cls_token", kind == 2},
                                                           {"pooling_mode_lasttoken", kind == 3}});
  }
  return {dir, g};
}

void check_same_model(const tessel::ModelFile& got, const tessel::ModelFile& want) {
  REQUIRE(got.meta.get_string("general.architecture") == want.meta.get_string("general.architecture"));
  const std::string a = want.meta.get_string("general.architecture") + ".";
  for (const auto& [key, v] : want.meta.entries()) {
    if (key.rfind(a, 0) != 0) continue;
    INFO("key " << key);
    REQUIRE(got.meta.has(key));
    if (v.type == tessel::MetaType::F32) CHECK(float(got.meta.get_float(key)) == float(v.f));
    else if (v.type == tessel::MetaType::BOOL) CHECK(got.meta.get_bool(key, !v.u) == bool(v.u));
    else CHECK(got.meta.get_int(key) == v.i);
  }
  CHECK(got.tensors.size() == want.tensors.size());
  for (const auto& w : want.tensors) {
    INFO("tensor " << w.name);
    const tessel::TensorInfo* t = got.find(w.name);
    REQUIRE(t != nullptr);
    CHECK(t->ne == w.ne);
    CHECK(t->n_dims == w.n_dims);
    const auto a_f = floats_of(*t), b_f = floats_of(w);
    REQUIRE(a_f.size() == b_f.size());
    // Bit-identical, except Gemma norms, which went through (1 + w) - 1 + 1.
    CHECK(tessel::test::max_abs_diff(a_f.data(), b_f.data(), a_f.size()) <= (w.name.find("norm") != std::string::npos ? 2e-7f : 0.0f));
  }
}

void check_logits(const std::shared_ptr<tessel::ModelFile>& file, const fs::path& dir) {
  tessel::RuntimeOptions o;
  o.n_ctx = 512;
  o.threads = 2;
  auto model = tessel::load_model(registry(), file, tessel::load_codecs(registry()), o);
  auto ctx = model->new_context(o);
  const size_t V = size_t(model->hparams().n_vocab);
  int checked = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    const auto k = f.find(".tokens.json");
    if (k == std::string::npos) continue;
    const std::string p = f.substr(0, k);
    std::ifstream in(e.path());
    const auto ids = json::parse(in)["token_ids"].get<std::vector<tessel::TokenId>>();
    const bool all = fs::exists(dir / (p + ".logits.npy"));
    const auto ref = tessel::read_npy(dir / (p + (all ? ".logits.npy" : ".last_logits.npy"))).as_floats();
    ctx->clear();
    tessel::Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, all || i + 1 == ids.size());
    tessel::Outputs out;
    model->forward(b, *ctx, out);
    REQUIRE(out.logits.size() == ref.size());
    for (size_t r = 0; r < ref.size() / V; ++r) {
      INFO(p << " row " << r);
      CHECK(tessel::test::cosine(ref.data() + r * V, out.logits.data() + r * V, V) >= 0.9999);
    }
    ++checked;
  }
  CHECK(checked > 0);
}

void run_case(const Case& c) {
  auto [dir, golden] = write_checkpoint(c);
  auto file = tessel::open_model_file(registry(), dir);  // format auto-detected
  CHECK(file->format == "safetensors");
  check_same_model(*file, *golden);
  if (!c.logits_dir.empty()) check_logits(file, tessel::test::shared_path(c.logits_dir));
}

}  // namespace

TEST_CASE("llama checkpoint (rotate-half q/k) gives llama-synth's tensors and golden logits") {
  run_case({"golden/models/llama-synth.gguf", "LlamaForCausalLM", "decoder", true, false,
            "golden/llama-synth/logits/llama-synth"});
}

TEST_CASE("Llama 3 checkpoint: rope_scaling llama3 becomes rope_freqs, tied output, golden last logits") {
  run_case({"golden/arch2/models/llama3-synth.gguf", "LlamaForCausalLM", "decoder", true, false,
            "golden/arch2/logits/llama3-synth"});
}

TEST_CASE("gemma3 checkpoint (norms stored as w) gives gemma3-synth's tensors and golden logits") {
  run_case({"golden/models/gemma3-synth-128.gguf", "Gemma3ForCausalLM", "gemma3", false, true,
            "golden/gemma3-synth/logits/gemma3-synth-128"});
}

TEST_CASE("qwen2 checkpoint (q/k/v biases) gives qwen2-synth's tensors and keys") {
  run_case({"golden/arch2/models/qwen2-synth.gguf", "Qwen2ForCausalLM", "decoder", false, false, ""});
}

TEST_CASE("qwen3 checkpoint (q/k norms, explicit head_dim) gives qwen3-synth's tensors and keys") {
  run_case({"golden/arch2/models/qwen3-synth.gguf", "Qwen3ForCausalLM", "decoder", false, false, ""});
}

TEST_CASE("bert checkpoint (F16 embeddings, biases) gives bert-synth's tensors and keys") {
  run_case({"golden/models/bert-synth.gguf", "BertModel", "bert", false, false, ""});
}
