// Gemma 2 as llama.cpp's llm_build_gemma2_iswa builds it: the kit's pre-norm
// decoder with gemma's sandwich norms. Token rows are scaled by sqrt(n_embd).
// Per layer: RMSNorm -> Q/K/V -> NeoX RoPE -> Q * f_attention_scale -> K·Q
// soft-capped c·tanh(s/c) -> mask (sliding layers see the last
// `sliding_window` positions) -> softmax -> V -> attn_output -> post-attention
// RMSNorm -> + residual -> RMSNorm -> GeGLU FFN -> post-FFN RMSNorm -> +
// residual; final RMSNorm, the tied output head and the final logit soft-cap.
#include "gemma2.hpp"

#include <cmath>

#include "tessel/model_kit.hpp"

namespace tessel::gemma2 {
namespace {

class Gemma2Model : public kit::Decoder {
 public:
  Gemma2Model(kit::Weights& w, const RuntimeOptions& o)
      : Decoder(w, o, {.n_ctx = 8192, .eps = 1e-6, .always_tied = true, .act = kit::Pass::Act::gelu,
                       .layer = {.post_norms = true, .post_ffw_norm_unnumbered = true}}) {
    const kit::HParamReader& r = w.hparams();
    // llama.cpp: window 4096 unless the file says; pattern 2 (layer il slides iff il is even).
    const std::vector<bool> swa =
        kit::read_swa(r, hp_.n_layer, 2, kernels::MaskParams::Swa::standard, swa_, 4096);
    for (int64_t il = 0; il < hp_.n_layer; ++il) layers_[size_t(il)].swa = swa[size_t(il)];
    rope_swa_.freq_base = r.positive("rope.freq_base_swa", rope_.freq_base);
    attn_.softcap = r.non_negative("attn_logit_softcapping", 50.0);
    final_softcap_ = r.non_negative("final_logit_softcapping", 30.0);
    // gemma_pytorch's query_pre_attn_scalar as llama.cpp reads it: the
    // 46-layer 27B scales by 1/sqrt(n_embd / n_head), other sizes by 1/sqrt(head_dim).
    attn_.kq_scale = 1.0f;
    attn_.q_scale = 1.0f / std::sqrt(float(hp_.n_layer == 46 ? hp_.n_embd / hp_.n_head : hp_.head_dim));
    token_scale_ = std::sqrt(float(hp_.n_embd));
  }
};

SynthRecipe recipe(const SynthPreset& p) {
  SynthPreset tied = p;  // gemma2's head is always token_embd
  tied.shape.tied = true;
  kit::SynthBuilder b = kit::synth_decoder(tied, {.post_norms = true});
  b.u32("attention.sliding_window", 4096);
  b.f32("attn_logit_softcapping", 50.0f);
  b.f32("final_logit_softcapping", 30.0f);
  return b.recipe;
}

}  // namespace

std::unique_ptr<Architecture> make_architecture() {
  const SynthPreset gemma2_2b{"gemma-2-2b", "gemma2",
                              "Gemma-2-2B shape: 2304 wide, 26 layers, 8 heads / 4 KV heads of 256, softcaps, "
                              "sliding 4096",
                              {2304, 26, 8, 4, 256, 9216, 256000, 8192, true}};
  return kit::architecture<Gemma2Model>({gemma2_2b}, recipe);
}

}  // namespace tessel::gemma2
