// BERT (BGE, MiniLM...) as llama.cpp's llm_build_bert builds it for
// general.architecture = bert, on the model kit. An encoder: no KV cache,
// bidirectional attention within each sequence of the batch. Input:
// token_embd + token_types row 0 (all tokens are "sentence A") +
// position_embd[pos], then LayerNorm. Per layer (post-norm): Q/K/V with bias
// -> attention (scale 1/sqrt(head_dim)) -> attn_output + bias -> residual ->
// LayerNorm(attn_output_norm) -> ffn_up + bias -> GELU -> ffn_down + bias ->
// residual -> LayerNorm(layer_output_norm). No final norm. For rank pooling
// (rerankers) pooled_head applies the classifier head: cls -> tanh -> cls.output.
#include "bert.hpp"

#include <cmath>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::bert {
namespace {

struct Layer {
  kit::AttnWeights attn;
  kit::Norm attn_out_norm, layer_out_norm;
  kit::Linear up, down;
};

class BertModel : public kit::Transformer {
 public:
  BertModel(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    kit::read_transformer(r, hp_, 512);
    hp_.causal = hp_.has_logits = false;
    hp_.pooling = r.pooling("pooling_type");
    eps_ = r.positive("attention.layer_norm_epsilon", 1e-12);
    const int64_t E = hp_.n_embd, F = hp_.n_ff;
    using kit::Bias;

    tok_embd_ = w.matrix("token_embd.weight", E, -1);
    hp_.n_vocab = tok_embd_.n_out;
    if (w.has("token_types.weight")) {
      const kernels::Matrix types = w.matrix("token_types.weight", E, -1);
      type_row0_.resize(size_t(E));
      const TokenId zero = 0;
      kernels::get_rows(types, std::span<const TokenId>(&zero, 1), type_row0_.data());
    }
    pos_embd_ = w.matrix("position_embd.weight", E, -1);
    max_ctx_ = pos_embd_.n_out;
    tok_norm_ = w.norm("token_embd_norm", E, Bias::required);
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      Layer L;
      L.attn = w.attention(il, hp_, Bias::required, Bias::required);
      L.attn_out_norm = w.norm(kit::blk(il, "attn_output_norm"), E, Bias::required);
      L.up = w.linear(kit::blk(il, "ffn_up"), E, F, Bias::required);
      L.down = w.linear(kit::blk(il, "ffn_down"), F, E, Bias::required);
      L.layer_out_norm = w.norm(kit::blk(il, "layer_output_norm"), E, Bias::required);
      layers_.push_back(std::move(L));
    }
    // A reranker's classifier head.
    cls_ = w.optional_linear("cls", E, E, Bias::optional);
    cls_out_ = w.optional_linear("cls.output", E, -1, Bias::optional);
    if (hp_.pooling == "rank") {
      if (!cls_.present() || !cls_out_.present())
        throw Error(w.path() + ": bert.pooling_type is rank but cls.weight / cls.output.weight are missing");
      hp_.n_embd_out = cls_out_.n_out();
    }
  }

  // Rank pooling only: the classifier head turns the CLS row into scores.
  void pooled_head(std::span<const float> in, size_t n_rows, std::vector<float>& out,
                   Context& ctx) const override {
    if (hp_.pooling != "rank") { out.assign(in.begin(), in.end()); return; }
    const int64_t r = int64_t(n_rows);
    std::vector<float> mid(size_t(r * hp_.n_embd));
    kit::linear(ctx, cls_, in.data(), r, mid.data());
    for (float& v : mid) v = std::tanh(v);
    out.resize(size_t(r * cls_out_.n_out()));
    kit::linear(ctx, cls_out_, mid.data(), r, out.data());
  }

 private:
  void graph(kit::Pass& p) const override {
    const int64_t E = hp_.n_embd;
    float* cur = p.buf(0, p.n * E);
    if (!type_row0_.empty()) kernels::add_row(p.x, type_row0_.data(), p.n, E);
    kernels::get_rows(pos_embd_, std::span<const TokenId>(p.batch.pos.data(), p.batch.pos.size()), cur);
    p.add(cur, p.x, p.x);
    p.layer_norm(p.x, p.x, tok_norm_, eps_, "inp_norm", -1);
    kit::Pass::Attn a;
    a.kq_scale = 1.0f / std::sqrt(float(hp_.head_dim));
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      p.self_attention(il, L.attn, p.x, cur, a);
      p.keep_outputs(il, {cur, p.x});  // only output rows go on after the last attention
      p.add(cur, p.x, cur);
      p.layer_norm(cur, cur, L.attn_out_norm, eps_, "attn_out_norm", il);  // ffn_inp
      p.ffn({}, L.up, L.down, kit::Pass::Act::gelu, cur, p.x, il, false);
      p.add(p.x, cur, p.x);
      p.layer_norm(p.x, p.x, L.layer_out_norm, eps_, "layer_out", il);
    }
    p.finish(p.x, {}, eps_, false, nullptr);  // result_embd: what pooling reads
  }

  float eps_ = 1e-12f;
  kernels::Matrix pos_embd_;
  std::vector<float> type_row0_;
  kit::Norm tok_norm_;
  kit::Linear cls_, cls_out_;
  std::vector<Layer> layers_;
};

SynthRecipe recipe(const SynthPreset& p) {
  using Fill = SynthTensor::Fill;
  kit::SynthBuilder b(p);
  const int64_t e = p.shape.n_embd, f = p.shape.n_ff, kv = p.shape.n_head_kv * p.shape.head_dim;
  if (p.shape.n_head * p.shape.head_dim != e)  // llama.cpp's BERT has Q and the output [n_embd, n_embd]
    throw Error("synth: bert needs n_head * head_dim = n_embd");
  b.transformer_keys();
  b.u32("attention.head_count_kv", p.shape.n_head_kv);
  b.f32("attention.layer_norm_epsilon", 1e-12f);
  b.flag("attention.causal", false);
  b.u32("pooling_type", 2);  // CLS
  b.tensor("token_embd.weight", {e, p.shape.n_vocab});
  b.tensor("token_types.weight", {e, 2});
  b.tensor("position_embd.weight", {e, p.shape.n_ctx});
  b.with_bias("token_embd_norm", {e}, Fill::norm);
  for (int64_t il = 0; il < p.shape.n_layer; ++il) {
    for (auto [n, n_out] : {std::pair{"attn_q", e}, {"attn_k", kv}, {"attn_v", kv}, {"attn_output", e}})
      b.with_bias(kit::blk(il, n), {e, n_out}, Fill::matrix);
    b.with_bias(kit::blk(il, "attn_output_norm"), {e}, Fill::norm);
    b.with_bias(kit::blk(il, "ffn_up"), {e, f}, Fill::matrix);
    b.with_bias(kit::blk(il, "ffn_down"), {f, e}, Fill::matrix);
    b.with_bias(kit::blk(il, "layer_output_norm"), {e}, Fill::norm);
  }
  b.wpm_vocab();
  return b.recipe;
}

}  // namespace

std::unique_ptr<Architecture> make_architecture() {
  SynthPreset bge_small{.name = "bge-small", .arch = "bert"};
  bge_small.summary = "BGE-small shape: 384 wide, 12 layers, 12 heads, FFN 1536, WordPiece vocab";
  bge_small.shape = {.n_embd = 384, .n_layer = 12, .n_head = 12, .n_head_kv = 12, .head_dim = 32,
                     .n_ff = 1536, .n_vocab = 30522, .n_ctx = 512};
  return kit::architecture<BertModel>({bge_small}, recipe);
}

}  // namespace tessel::bert
