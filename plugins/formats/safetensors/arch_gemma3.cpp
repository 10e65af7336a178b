// Gemma 3 text (Gemma3ForCausalLM, and the language model of
// Gemma3ForConditionalGeneration). Gemma's RMSNorm multiplies by (1 + w);
// GGUF stores 1 + w, so every norm weight is shifted on the way (Gemma3Model.
// norm_shift in llama.cpp's converter). RoPE is NeoX-style: no permutation.
#include "mapping.hpp"

namespace tessel::safetensors {

ArchMapping gemma3_mapping() {
  ArchMapping m;
  m.hf_classes = {"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"};
  m.gguf_arch = "gemma3";
  const Transform add1 = Transform::AddOne;
  for (const std::string prefix : {"model.", "language_model.model.", "model.language_model."}) {
    const std::string L = prefix + "layers.{N}.";
    m.rules.push_back({prefix + "embed_tokens.weight", "token_embd.weight"});
    m.rules.push_back({prefix + "norm.weight", "output_norm.weight", add1});
    m.rules.push_back({L + "input_layernorm.weight", "blk.{N}.attn_norm.weight", add1});
    m.rules.push_back({L + "self_attn.q_proj.weight", "blk.{N}.attn_q.weight"});
    m.rules.push_back({L + "self_attn.k_proj.weight", "blk.{N}.attn_k.weight"});
    m.rules.push_back({L + "self_attn.v_proj.weight", "blk.{N}.attn_v.weight"});
    m.rules.push_back({L + "self_attn.o_proj.weight", "blk.{N}.attn_output.weight"});
    m.rules.push_back({L + "self_attn.q_norm.weight", "blk.{N}.attn_q_norm.weight", add1});
    m.rules.push_back({L + "self_attn.k_norm.weight", "blk.{N}.attn_k_norm.weight", add1});
    m.rules.push_back({L + "post_attention_layernorm.weight", "blk.{N}.post_attention_norm.weight", add1});
    m.rules.push_back({L + "pre_feedforward_layernorm.weight", "blk.{N}.ffn_norm.weight", add1});
    m.rules.push_back({L + "post_feedforward_layernorm.weight", "blk.{N}.post_ffw_norm.weight", add1});
    m.rules.push_back({L + "mlp.gate_proj.weight", "blk.{N}.ffn_gate.weight"});
    m.rules.push_back({L + "mlp.up_proj.weight", "blk.{N}.ffn_up.weight"});
    m.rules.push_back({L + "mlp.down_proj.weight", "blk.{N}.ffn_down.weight"});
  }
  m.rules.push_back({"lm_head.weight", "output.weight"});
  // The vision tower and projector of the multimodal checkpoint are mmproj's business.
  m.skipped = {"vision_tower.*", "multi_modal_projector.*", "model.vision_tower.*", "model.multi_modal_projector.*"};
  m.hparams = [](const Config& cfg, Metadata& meta) {
    common_hparams(cfg, "gemma3", meta);
    // Defaults the converter assumes when the config leaves them out.
    meta.set("gemma3.context_length",
             MetaValue::of_u32(uint32_t(cfg.integer_opt("max_position_embeddings").value_or(131072))));
    meta.set("gemma3.attention.head_count", MetaValue::of_u32(uint32_t(cfg.integer_opt("num_attention_heads").value_or(8))));
    meta.set("gemma3.attention.head_count_kv",
             MetaValue::of_u32(uint32_t(cfg.integer_opt("num_key_value_heads").value_or(4))));
    meta.set("gemma3.attention.layer_norm_rms_epsilon", MetaValue::of_f32(float(cfg.number_opt("rms_norm_eps").value_or(1e-6))));
    const auto head_dim = uint32_t(cfg.integer_opt("head_dim").value_or(256));
    meta.set("gemma3.attention.key_length", MetaValue::of_u32(head_dim));
    meta.set("gemma3.attention.value_length", MetaValue::of_u32(head_dim));
    const auto rope = cfg.rope_parameters();
    const double theta = rope.contains("rope_theta") && rope["rope_theta"].is_number() ? rope["rope_theta"].get<double>() : 1e6;
    meta.set("gemma3.rope.freq_base", MetaValue::of_f32(float(theta)));
    if (auto local = cfg.number_opt("rope_local_base_freq"))
      meta.set("gemma3.rope.freq_base_swa", MetaValue::of_f32(float(*local)));
    if (auto cap = cfg.number_opt("final_logit_softcapping"); cap && *cap != 0)
      meta.set("gemma3.final_logit_softcapping", MetaValue::of_f32(float(*cap)));
    const auto pattern = cfg.integer_opt("sliding_window_pattern");
    if (pattern.value_or(0) != 1)
      meta.set("gemma3.attention.sliding_window", MetaValue::of_u32(uint32_t(cfg.integer("sliding_window", "gemma3"))));
    if (pattern) meta.set("gemma3.attention.sliding_window_pattern", MetaValue::of_u32(uint32_t(*pattern)));
  };
  return m;
}

}  // namespace tessel::safetensors
