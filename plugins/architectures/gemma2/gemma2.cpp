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

class Gemma2Model : public kit::Transformer {
 public:
  Gemma2Model(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    kit::read_transformer(r, hp_, 8192);
    eps_ = r.positive("attention.layer_norm_rms_epsilon", 1e-6);
    // llama.cpp: window 4096 unless the file says; pattern 2 (layer il slides iff il is even).
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

    head_ = kit::load_head(w, hp_, tok_embd_, true);  // gemma2 is always tied
    kit::DecoderOptions d;
    d.post_norms = true;
    d.post_ffw_norm_unnumbered = true;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      layers_.push_back(kit::load_decoder_layer(w, il, hp_, d));
      layers_.back().swa = swa[size_t(il)];
    }
  }

 private:
  void graph(kit::Pass& p) const override {
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const kit::DecoderLayer& l = layers_[size_t(il)];
      kit::Pass::Attn a;
      a.q_scale = q_scale_;  // kq_scale stays 1
      a.softcap = attn_softcap_;
      a.swa = l.swa;
      a.rope = l.swa ? &rope_swa_ : &rope_;
      kit::decoder_layer(p, il, l, a, eps_, kit::Pass::Act::gelu);
    }
    p.finish(p.x, head_.norm, eps_, true, &head_.output, final_softcap_);
  }

  float eps_ = 1e-6f, attn_softcap_ = 0.0f, final_softcap_ = 0.0f, q_scale_ = 1.0f;
  kernels::RopeParams rope_, rope_swa_;
  kit::Head head_;
  std::vector<kit::DecoderLayer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<Gemma2Model>(); }

}  // namespace tessel::gemma2
