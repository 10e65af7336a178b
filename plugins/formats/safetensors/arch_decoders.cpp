// llama, qwen2 and qwen3: the HF decoder layout (model.layers.N.self_attn.*,
// mlp.{gate,up,down}_proj) as llama.cpp's converter maps it. Only llama
// permutes q/k: HF stores them for rotate-half RoPE, llama.cpp's llama graph
// rotates interleaved pairs; qwen uses NeoX (rotate-half) RoPE in llama.cpp too.
#include <cmath>

#include "mapping.hpp"
#include "tessel/error.hpp"

namespace tessel::safetensors {
namespace {

std::vector<TensorRule> decoder_rules(bool permute, bool biases, bool qk_norm) {
  const Transform q = permute ? Transform::PermuteQ : Transform::None;
  const Transform k = permute ? Transform::PermuteK : Transform::None;
  std::vector<TensorRule> r = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
      {"model.layers.{N}.input_layernorm.weight", "blk.{N}.attn_norm.weight"},
      {"model.layers.{N}.self_attn.q_proj.weight", "blk.{N}.attn_q.weight", q},
      {"model.layers.{N}.self_attn.k_proj.weight", "blk.{N}.attn_k.weight", k},
      {"model.layers.{N}.self_attn.v_proj.weight", "blk.{N}.attn_v.weight"},
      {"model.layers.{N}.self_attn.o_proj.weight", "blk.{N}.attn_output.weight"},
      {"model.layers.{N}.post_attention_layernorm.weight", "blk.{N}.ffn_norm.weight"},
      {"model.layers.{N}.mlp.gate_proj.weight", "blk.{N}.ffn_gate.weight"},
      {"model.layers.{N}.mlp.up_proj.weight", "blk.{N}.ffn_up.weight"},
      {"model.layers.{N}.mlp.down_proj.weight", "blk.{N}.ffn_down.weight"},
  };
  if (biases) {
    r.push_back({"model.layers.{N}.self_attn.q_proj.bias", "blk.{N}.attn_q.bias", q});
    r.push_back({"model.layers.{N}.self_attn.k_proj.bias", "blk.{N}.attn_k.bias", k});
    r.push_back({"model.layers.{N}.self_attn.v_proj.bias", "blk.{N}.attn_v.bias"});
  }
  if (qk_norm) {
    r.push_back({"model.layers.{N}.self_attn.q_norm.weight", "blk.{N}.attn_q_norm.weight"});
    r.push_back({"model.layers.{N}.self_attn.k_norm.weight", "blk.{N}.attn_k_norm.weight"});
  }
  return r;
}

const std::vector<std::string> kDecoderSkipped = {"model.layers.{N}.self_attn.rotary_emb.inv_freq"};

// Llama 3's frequency-dependent RoPE scaling becomes a rope_freqs tensor of
// per-dimension divisors, computed as LlamaModel.generate_extra_tensors does.
std::vector<ExtraTensor> llama3_rope_freqs(const Config& cfg) {
  const auto rope = cfg.rope_parameters();
  std::string type = rope.value("rope_type", "");
  for (auto& c : type) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (type != "llama3") return {};
  auto num = [&](const char* key, double def) {
    return rope.contains(key) && rope[key].is_number() ? rope[key].get<double>() : def;
  };
  const double base = num("rope_theta", 10000.0);
  const int64_t dim = cfg.integer_opt("head_dim").value_or(cfg.integer("hidden_size", "llama3 rope_freqs") /
                                                          cfg.integer("num_attention_heads", "llama3 rope_freqs"));
  const double factor = num("factor", 8.0), low = num("low_freq_factor", 1.0), high = num("high_freq_factor", 4.0);
  const double old_ctx = num("original_max_position_embeddings", 8192.0);
  const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  ExtraTensor t{"rope_freqs.weight", {dim / 2}, {}};
  // The frequencies are float32 (torch.arange(..., dtype=float32)); the
  // wavelength arithmetic is done in double and rounded once at the end:
  // that reproduces the rope_freqs of the golden llama3-synth bit for bit.
  for (int64_t i = 0; i < dim; i += 2) {
    const float freq = 1.0f / std::pow(float(base), float(i) / float(dim));
    const double wavelen = 2 * M_PI / double(freq);
    if (wavelen < high_wavelen) t.values.push_back(1.0f);
    else if (wavelen > low_wavelen) t.values.push_back(float(factor));
    else {
      const double smooth = (old_ctx / wavelen - low) / (high - low);
      t.values.push_back(float(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return {t};
}

}  // namespace

ArchMapping llama_mapping() {
  ArchMapping m;
  m.hf_classes = {"LlamaForCausalLM", "LLaMAForCausalLM", "MistralForCausalLM"};
  m.gguf_arch = "llama";
  m.rules = decoder_rules(/*permute=*/true, /*biases=*/false, /*qk_norm=*/false);
  m.skipped = kDecoderSkipped;
  m.hparams = [](const Config& cfg, Metadata& meta) {
    common_hparams(cfg, "llama", meta);
    meta.set("llama.vocab_size", MetaValue::of_u32(uint32_t(cfg.integer("vocab_size", "llama"))));
    const int64_t rope_dim = cfg.integer_opt("head_dim").value_or(cfg.integer("hidden_size", "llama") /
                                                                  cfg.integer("num_attention_heads", "llama"));
    meta.set("llama.rope.dimension_count", MetaValue::of_u32(uint32_t(rope_dim)));
  };
  m.extra = llama3_rope_freqs;
  return m;
}

ArchMapping qwen2_mapping() {
  ArchMapping m;
  m.hf_classes = {"Qwen2ForCausalLM"};
  m.gguf_arch = "qwen2";
  m.rules = decoder_rules(false, /*biases=*/true, false);
  m.skipped = kDecoderSkipped;
  m.hparams = [](const Config& cfg, Metadata& meta) { common_hparams(cfg, "qwen2", meta); };
  return m;
}

ArchMapping qwen3_mapping() {
  ArchMapping m;
  m.hf_classes = {"Qwen3ForCausalLM"};
  m.gguf_arch = "qwen3";
  m.rules = decoder_rules(false, false, /*qk_norm=*/true);
  m.skipped = kDecoderSkipped;
  m.hparams = [](const Config& cfg, Metadata& meta) { common_hparams(cfg, "qwen3", meta); };
  return m;
}

}  // namespace tessel::safetensors
