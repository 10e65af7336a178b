// Gemma 2 as llama.cpp's llm_build_gemma2_iswa builds it, on the model kit.
// Token rows are scaled by sqrt(n_embd). Per layer: RMSNorm -> Q/K/V -> NeoX
// RoPE -> Q * f_attention_scale -> K·Q soft-capped c·tanh(s/c) -> mask
// (sliding layers see the last `sliding_window` positions) -> softmax -> V ->
// attn_output -> post-attention RMSNorm -> + residual -> RMSNorm -> GeGLU FFN
// -> post-FFN RMSNorm -> + residual; final RMSNorm, the tied output head and
// the final logit soft-cap.
#include "gemma2.hpp"

#include <cmath>

#include "tessel/model_kit.hpp"

namespace tessel::gemma2 {
namespace {

struct Layer {
  kit::Norm attn_norm, post_attn_norm, ffn_norm, post_ffw_norm;
  kit::AttnWeights attn;
  kit::Linear gate, up, down;
  bool swa = false;
};

class Gemma2Model : public kit::Transformer {
 public:
  Gemma2Model(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    kit::read_transformer(r, hp_, 8192);
    eps_ = r.positive("attention.layer_norm_rms_epsilon", 1e-6);
    // llama.cpp: window 4096 unless the file says, every other layer slides
    // (pattern 2: layer il slides iff il % 2 == 0).
    const std::vector<bool> swa =
        kit::read_swa(r, hp_.n_layer, 2, kernels::MaskParams::Swa::standard, swa_, 4096);
    rope_ = kit::read_rope(r, hp_.head_dim, true, 10000.0);
    rope_swa_ = rope_;
    rope_swa_.freq_base = r.positive("rope.freq_base_swa", rope_.freq_base);
    attn_softcap_ = r.non_negative("attn_logit_softcapping", 50.0);
    final_softcap_ = r.non_negative("final_logit_softcapping", 30.0);
    // gemma_pytorch's query_pre_attn_scalar as llama.cpp reads it: the
    // 46-layer 27B scales by 1/sqrt(n_embd / n_head), other sizes by 1/sqrt(head_dim).
    q_scale_ = 1.0f / std::sqrt(float(hp_.n_layer == 46 ? hp_.n_embd / hp_.n_head : hp_.head_dim));
    token_scale_ = std::sqrt(float(hp_.n_embd));

    const int64_t E = hp_.n_embd, F = hp_.n_ff;
    tok_embd_ = w.matrix("token_embd.weight", E, -1);  // also the output head: gemma2 is always tied
    hp_.n_vocab = tok_embd_.n_out;
    output_norm_ = w.norm("output_norm", E);
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      Layer L;
      L.attn_norm = w.norm(kit::blk(il, "attn_norm"), E);
      L.attn = w.attention(il, hp_);
      L.post_attn_norm = w.norm(kit::blk(il, "post_attention_norm"), E);
      L.ffn_norm = w.norm(kit::blk(il, "ffn_norm"), E);
      L.gate = w.linear(kit::blk(il, "ffn_gate"), E, F);
      L.up = w.linear(kit::blk(il, "ffn_up"), E, F);
      L.down = w.linear(kit::blk(il, "ffn_down"), F, E);
      L.post_ffw_norm = w.norm(kit::blk(il, "post_ffw_norm"), E);
      L.swa = swa[size_t(il)];
      layers_.push_back(std::move(L));
    }
  }

 private:
  void graph(kit::Pass& p) const override {
    const int64_t E = hp_.n_embd;
    float* cur = p.buf(0, p.n * E);
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      kit::Pass::Attn a;
      a.q_scale = q_scale_;  // kq_scale stays 1
      a.softcap = attn_softcap_;
      a.swa = L.swa;
      a.rope = L.swa ? &rope_swa_ : &rope_;
      p.rms_norm(p.x, cur, L.attn_norm, eps_, "attn_norm", il);
      p.self_attention(il, L.attn, cur, cur, a);
      p.keep_outputs(il, {cur, p.x});  // the rest of the last layer runs on output rows only
      p.rms_norm(cur, cur, L.post_attn_norm, eps_, "attn_post_norm", il);
      p.add(cur, p.x, p.x);
      p.emit("sa_out", il, p.x, {E, p.m});
      p.rms_norm(p.x, cur, L.ffn_norm, eps_, "ffn_norm", il);
      p.ffn(L.gate, L.up, L.down, kit::Pass::Act::gelu, cur, cur, il);
      p.rms_norm(cur, cur, L.post_ffw_norm, eps_, "ffn_post_norm", -1);  // llama.cpp's name: no layer
      p.add(cur, p.x, p.x);
      p.emit("l_out", il, p.x, {E, p.m});
    }
    p.finish(p.x, output_norm_, eps_, true, &tok_embd_, final_softcap_);
  }

  float eps_ = 1e-6f, attn_softcap_ = 0.0f, final_softcap_ = 0.0f, q_scale_ = 1.0f;
  kernels::RopeParams rope_, rope_swa_;
  kit::Norm output_norm_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<Gemma2Model>(); }

}  // namespace tessel::gemma2
