// Pieces of synthetic-model recipes (tessel synth): the keys every
// transformer file has, the standard decoder's tensor list, and valid
// SentencePiece / WordPiece vocabularies of any size.
#include <cctype>
#include <cstdio>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::kit {

using Fill = SynthTensor::Fill;

SynthBuilder::SynthBuilder(const SynthPreset& p) : preset(p), s(p.shape) {
  Metadata& m = recipe.meta;
  m.set("general.architecture", MetaValue::of_string(p.arch));
  m.set("general.name", MetaValue::of_string(p.name + "-synth"));
  m.set("general.file_type", MetaValue::of_u32(0));
}

void SynthBuilder::transformer_keys() {
  u32("context_length", s.n_ctx);
  u32("embedding_length", s.n_embd);
  u32("block_count", s.n_layer);
  u32("feed_forward_length", s.n_ff);
  u32("attention.head_count", s.n_head);
}

void SynthBuilder::u32(std::string_view k, int64_t v) {
  recipe.meta.set(preset.arch + "." + std::string(k), MetaValue::of_u32(uint32_t(v)));
}

void SynthBuilder::f32(std::string_view k, float v) {
  recipe.meta.set(preset.arch + "." + std::string(k), MetaValue::of_f32(v));
}

void SynthBuilder::flag(std::string_view k, bool v) {
  recipe.meta.set(preset.arch + "." + std::string(k), MetaValue::of_bool(v));
}

void SynthBuilder::tensor(std::string name, std::vector<int64_t> ne, Fill fill) {
  recipe.tensors.push_back({std::move(name), std::move(ne), fill});
}

void SynthBuilder::matrix(int64_t il, std::string_view name, int64_t n_in, int64_t n_out) {
  tensor(blk(il, name) + ".weight", {n_in, n_out});
}

void SynthBuilder::norm(int64_t il, std::string_view name, int64_t n) {
  tensor(blk(il, name) + ".weight", {n}, Fill::norm);
}

void SynthBuilder::with_bias(const std::string& base, std::vector<int64_t> ne, Fill fill) {
  const int64_t n_out = ne.back();
  tensor(base + ".weight", std::move(ne), fill);
  tensor(base + ".bias", {n_out}, Fill::zero);
}

namespace {
void check_vocab(const SynthShape& s, int64_t least) {
  if (s.n_vocab < least)
    throw Error("synth: n_vocab " + std::to_string(s.n_vocab) + " is below " + std::to_string(least) +
                " (the special and byte tokens of the vocabulary)");
}
}  // namespace

void SynthBuilder::spm_vocab(const std::string& last) {
  check_vocab(s, 260);
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  char hex[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    tokens.push_back(hex);
    types.push_back(6);
  }
  for (int64_t i = int64_t(tokens.size()); i < s.n_vocab; ++i) {
    tokens.push_back("\xE2\x96\x81t" + std::to_string(i));  // ▁t<i>
    types.push_back(1);
  }
  if (!last.empty()) {
    tokens.back() = last;
    types.back() = 3;
  }
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = types[i] == 1 ? -float(i) : 0.0f;
  Metadata& m = recipe.meta;
  m.set("tokenizer.ggml.model", MetaValue::of_string("llama"));
  m.set("tokenizer.ggml.tokens", MetaValue::of_strings(std::move(tokens)));
  m.set("tokenizer.ggml.scores", MetaValue::of_f32s(scores));
  m.set("tokenizer.ggml.token_type", MetaValue::of_i32s(types));
  m.set("tokenizer.ggml.unknown_token_id", MetaValue::of_u32(0));
  m.set("tokenizer.ggml.bos_token_id", MetaValue::of_u32(1));
  m.set("tokenizer.ggml.eos_token_id", MetaValue::of_u32(2));
}

void SynthBuilder::wpm_vocab() {
  check_vocab(s, 260);
  std::vector<std::string> tokens = {"[PAD]"};
  for (int i = 1; i < 100; ++i) tokens.push_back("[unused" + std::to_string(i - 1) + "]");
  for (const char* t : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) tokens.push_back(t);
  // WordPiece vocabularies are lower-case: ASCII without capitals, then ## forms.
  for (const char* prefix : {"", "##"})
    for (char c = 33; c < 127; ++c)
      if (!std::isupper(static_cast<unsigned char>(c))) tokens.push_back(prefix + std::string(1, c));
  for (int64_t i = int64_t(tokens.size()); i < s.n_vocab; ++i) tokens.push_back("w" + std::to_string(i));
  std::vector<int32_t> types(tokens.size(), 1);
  for (int i : {0, 100, 101, 102, 103}) types[size_t(i)] = 3;
  Metadata& m = recipe.meta;
  m.set("tokenizer.ggml.model", MetaValue::of_string("bert"));
  m.set("tokenizer.ggml.pre", MetaValue::of_string("bert-bge"));
  m.set("tokenizer.ggml.tokens", MetaValue::of_strings(std::move(tokens)));
  m.set("tokenizer.ggml.token_type", MetaValue::of_i32s(types));
  m.set("tokenizer.ggml.token_type_count", MetaValue::of_u32(2));
  m.set("tokenizer.ggml.unknown_token_id", MetaValue::of_u32(100));
  m.set("tokenizer.ggml.seperator_token_id", MetaValue::of_u32(102));
  m.set("tokenizer.ggml.padding_token_id", MetaValue::of_u32(0));
  m.set("tokenizer.ggml.cls_token_id", MetaValue::of_u32(101));
  m.set("tokenizer.ggml.mask_token_id", MetaValue::of_u32(103));
}

SynthBuilder synth_decoder(const SynthPreset& p, const SynthDecoder& d) {
  SynthBuilder b(p);
  const SynthShape& s = p.shape;
  b.transformer_keys();
  b.u32("attention.head_count_kv", s.n_head_kv);
  b.f32("attention.layer_norm_rms_epsilon", d.eps);
  if (d.rope_dims) b.u32("rope.dimension_count", s.head_dim);
  if (d.key_length || s.n_head * s.head_dim != s.n_embd) {
    b.u32("attention.key_length", s.head_dim);
    b.u32("attention.value_length", s.head_dim);
  }
  b.f32("rope.freq_base", d.freq_base);

  const int64_t e = s.n_embd, q = s.n_head * s.head_dim, kv = s.n_head_kv * s.head_dim;
  b.tensor("token_embd.weight", {e, s.n_vocab});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    b.norm(l, "attn_norm", e);
    if (d.fused_qkv) {
      b.matrix(l, "attn_qkv", e, q + 2 * kv);
    } else {
      b.matrix(l, "attn_q", e, q);
      b.matrix(l, "attn_k", e, kv);
      b.matrix(l, "attn_v", e, kv);
    }
    if (d.qkv_bias)
      for (auto [name, n] : {std::pair{"attn_q.bias", q}, {"attn_k.bias", kv}, {"attn_v.bias", kv}})
        b.tensor(blk(l, name), {n}, Fill::bias);
    b.matrix(l, "attn_output", q, e);
    if (d.qk_norm) {
      b.norm(l, "attn_q_norm", s.head_dim);
      b.norm(l, "attn_k_norm", s.head_dim);
    }
    if (d.post_norms) b.norm(l, "post_attention_norm", e);
    b.norm(l, "ffn_norm", e);
    if (!d.fused_up) b.matrix(l, "ffn_gate", e, s.n_ff);
    b.matrix(l, "ffn_up", e, d.fused_up ? 2 * s.n_ff : s.n_ff);
    b.matrix(l, "ffn_down", s.n_ff, e);
    if (d.post_norms) b.norm(l, "post_ffw_norm", e);
  }
  b.tensor("output_norm.weight", {e}, Fill::norm);
  if (!s.tied) b.tensor("output.weight", {e, s.n_vocab});
  b.spm_vocab(d.last_token);
  return b;
}

}  // namespace tessel::kit
