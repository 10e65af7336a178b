// BERT encoders (BertModel and the sentence-transformers checkpoints built on
// it) as llama.cpp's BertModel converter maps them: "bert." prefixes and
// gamma/beta names are normalised first; the pooler and the MLM/NSP heads are
// not part of the GGUF model.
#include "mapping.hpp"

namespace tessel::safetensors {

ArchMapping bert_mapping() {
  ArchMapping m;
  m.hf_classes = {"BertModel", "BertForMaskedLM", "BertForSequenceClassification"};
  m.gguf_arch = "bert";
  for (const std::string p : {"", "bert."}) {
    const std::string L = p + "encoder.layer.{N}.";
    // Old checkpoints name LayerNorm parameters gamma/beta.
    for (const auto& [hf, wb] : std::vector<std::pair<std::string, std::string>>{
             {"weight", "weight"}, {"bias", "bias"}, {"gamma", "weight"}, {"beta", "bias"}}) {
      m.rules.push_back({p + "embeddings.LayerNorm." + hf, "token_embd_norm." + wb});
      m.rules.push_back({L + "attention.self.query." + hf, "blk.{N}.attn_q." + wb});
      m.rules.push_back({L + "attention.self.key." + hf, "blk.{N}.attn_k." + wb});
      m.rules.push_back({L + "attention.self.value." + hf, "blk.{N}.attn_v." + wb});
      m.rules.push_back({L + "attention.output.dense." + hf, "blk.{N}.attn_output." + wb});
      m.rules.push_back({L + "attention.output.LayerNorm." + hf, "blk.{N}.attn_output_norm." + wb});
      m.rules.push_back({L + "intermediate.dense." + hf, "blk.{N}.ffn_up." + wb});
      m.rules.push_back({L + "output.dense." + hf, "blk.{N}.ffn_down." + wb});
      m.rules.push_back({L + "output.LayerNorm." + hf, "blk.{N}.layer_output_norm." + wb});
    }
    m.rules.push_back({p + "embeddings.word_embeddings.weight", "token_embd.weight"});
    m.rules.push_back({p + "embeddings.position_embeddings.weight", "position_embd.weight"});
    m.rules.push_back({p + "embeddings.token_type_embeddings.weight", "token_types.weight"});
    m.skipped.push_back(p + "embeddings.position_ids");
    m.skipped.push_back(p + "pooler.*");
  }
  m.skipped.push_back("cls.*");
  m.hparams = [](const Config& cfg, Metadata& meta) {
    common_hparams(cfg, "bert", meta);
    if (auto eps = cfg.number_opt("layer_norm_eps"))
      meta.set("bert.attention.layer_norm_epsilon", MetaValue::of_f32(float(*eps)));
    meta.set("bert.attention.causal", MetaValue::of_bool(false));
    meta.set("tokenizer.ggml.token_type_count",
             MetaValue::of_u32(uint32_t(cfg.integer_opt("type_vocab_size").value_or(1))));
  };
  return m;
}

}  // namespace tessel::safetensors
