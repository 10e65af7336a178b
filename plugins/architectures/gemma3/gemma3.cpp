// Gemma 3's text model as llama.cpp's llm_build_gemma3 builds it, on the
// model kit, and in a second mode EmbeddingGemma (llm_build_gemma_embedding,
// general.architecture gemma-embedding): the same layers as an encoder (no
// KV cache, symmetric sliding window, no output head), dense_2 / dense_3
// applied after pooling. Per layer: RMSNorm -> Q/K/V -> per-head RMSNorm (q/k norm) ->
// NeoX RoPE (sliding layers with freq_base_swa) -> Q * f_attention_scale ->
// attention (sliding layers see a causal window) -> attn_output -> post norm
// -> + residual -> RMSNorm -> GeGLU FFN -> post norm -> + residual. Token input
// is scaled by sqrt(n_embd); raw embedding rows (batch.embd, image rows) are
// not. Output head tied to token_embd unless output.weight; logits capped
// by final_logit_softcapping when set.
#include "gemma3.hpp"

#include <cmath>

#include "tessel/model_kit.hpp"

namespace tessel::gemma3 {
namespace {

struct Layer {
  kit::Norm attn_norm, post_attn_norm, ffn_norm, post_ffw_norm;
  kit::AttnWeights attn;
  kit::Linear gate, up, down;
  bool swa = false;
};

class Gemma3Model : public kit::Transformer {
 public:
  Gemma3Model(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    const bool encoder = r.arch() == "gemma-embedding";
    kit::read_transformer(r, hp_, encoder ? 2048 : 8192);
    hp_.causal = hp_.has_logits = !encoder;
    if (encoder) hp_.pooling = r.pooling("pooling_type");
    eps_ = r.positive("attention.layer_norm_rms_epsilon", 1e-6);
    const auto swa_type = encoder ? kernels::MaskParams::Swa::symmetric : kernels::MaskParams::Swa::standard;
    const std::vector<bool> swa = kit::read_swa(r, hp_.n_layer, 6, swa_type, swa_);
    rope_ = kit::read_rope(r, hp_.head_dim, true, encoder ? 10000.0 : 1000000.0);
    rope_swa_ = rope_;
    rope_swa_.freq_base = r.positive("rope.freq_base_swa", 10000.0);
    rope_swa_.freq_scale = 1.0f;
    softcap_ = r.non_negative("final_logit_softcapping", 0.0);
    // llama.cpp (gemma_pytorch's query_pre_attn_scalar): the 62-layer 27B
    // scales by 1/sqrt(n_embd / n_head), every other size by 1/sqrt(head_dim).
    q_scale_ = 1.0f / std::sqrt(float(hp_.n_layer == 62 ? hp_.n_embd / hp_.n_head : hp_.head_dim));
    token_scale_ = std::sqrt(float(hp_.n_embd));

    const int64_t E = hp_.n_embd, F = hp_.n_ff;
    tok_embd_ = w.matrix("token_embd.weight", E, -1);
    hp_.n_vocab = tok_embd_.n_out;
    output_norm_ = w.norm("output_norm", E);
    if (!encoder)
      output_ = w.has("output.weight") ? w.matrix("output.weight", E, hp_.n_vocab) : tok_embd_;
    dense_2_ = w.optional_linear("dense_2", E, -1);
    dense_3_ = w.optional_linear("dense_3", dense_2_.present() ? dense_2_.n_out() : E, -1);
    hp_.n_embd_out = dense_3_.present() ? dense_3_.n_out() : dense_2_.present() ? dense_2_.n_out() : E;
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
      a.swa = L.swa;
      a.norm_eps = eps_;
      a.rope = L.swa ? &rope_swa_ : &rope_;
      p.rms_norm(p.x, cur, L.attn_norm, eps_, "attn_norm", il);
      p.self_attention(il, L.attn, cur, cur, a);
      p.keep_outputs(il, {cur, p.x});  // the rest of the last layer runs on output rows only
      p.rms_norm(cur, cur, L.post_attn_norm, eps_, "attn_post_norm", il);
      p.add(cur, p.x, p.x);
      p.emit("sa_out", il, p.x, {E, p.m});
      p.rms_norm(p.x, cur, L.ffn_norm, eps_, "ffn_norm", il);
      p.ffn(L.gate, L.up, L.down, kit::Pass::Act::gelu, cur, cur, il);
      p.rms_norm(cur, cur, L.post_ffw_norm, eps_, "ffn_post_norm", il);
      p.add(cur, p.x, p.x);
      p.emit("l_out", il, p.x, {E, p.m});
    }
    p.finish(p.x, output_norm_, eps_, true, hp_.has_logits ? &output_ : nullptr, softcap_);
  }

  // dense_2 then dense_3 (Sentence Transformers' Dense modules), no bias.
  void pooled_head(std::span<const float> in, size_t n_rows, std::vector<float>& out,
                   Context& ctx) const override {
    out.assign(in.begin(), in.end());
    std::vector<float> next;
    for (const kit::Linear* d : {&dense_2_, &dense_3_}) {
      if (!d->present()) continue;
      next.resize(n_rows * size_t(d->n_out()));
      kit::linear(ctx, *d, out.data(), int64_t(n_rows), next.data());
      out.swap(next);
    }
  }

  float eps_ = 1e-6f, softcap_ = 0.0f, q_scale_ = 1.0f;
  kernels::RopeParams rope_, rope_swa_;
  kit::Norm output_norm_;
  kernels::Matrix output_;
  kit::Linear dense_2_, dense_3_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<Gemma3Model>(); }

}  // namespace tessel::gemma3
