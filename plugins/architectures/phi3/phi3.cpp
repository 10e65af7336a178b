// Phi-3 / Phi-3.5 as llama.cpp's llm_build_phi3 builds it (no sliding window:
// llama.cpp turns Phi's off), on the model kit. Per layer: RMSNorm -> one
// fused attn_qkv matmul (rows Q, K, V; separate attn_q/k/v also load) -> NeoX
// RoPE over rope.dimension_count dims (LongRoPE factors when the file has
// them) -> Q * 1/sqrt(head_dim) -> attention (softmax scale 1) -> attn_output
// -> residual -> RMSNorm -> ffn_up giving gate then up (2 * n_ff) -> SwiGLU ->
// ffn_down -> residual; final RMSNorm and output head.
#include "phi3.hpp"

#include <algorithm>
#include <cmath>

#include "tessel/model_kit.hpp"

namespace tessel::phi3 {
namespace {

struct Layer {
  kit::Norm attn_norm, ffn_norm;
  kit::AttnWeights attn;
  kit::Linear up, down;
};

class Phi3Model : public kit::Transformer {
 public:
  Phi3Model(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    kit::read_transformer(r, hp_, 4096);
    eps_ = r.positive("attention.layer_norm_rms_epsilon", 1e-5);
    rope_ = kit::read_rope(r, hp_.head_dim, true, 10000.0);
    rope_.attn_factor = r.positive("rope.scaling.attn_factor", 1.0);
    // LongRoPE (Phi-3 128k): the long factors when the context exceeds the
    // original training context, else the short ones (llama.cpp's choice).
    const int64_t n_orig = r.count("rope.scaling.original_context_length", hp_.n_ctx_train, 1, 1 << 24);
    const int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(hp_.n_ctx_train, 4096);
    const int64_t n_factors = rope_.n_dims / 2;
    const auto long_f = w.optional_vector("rope_factors_long.weight", n_factors);
    const auto short_f = w.optional_vector("rope_factors_short.weight", n_factors);
    factors_ = n_ctx > n_orig ? long_f : short_f;
    if (!factors_.empty()) rope_.freq_factors = factors_.data();

    const int64_t E = hp_.n_embd, F = hp_.n_ff;
    tok_embd_ = w.matrix("token_embd.weight", E, -1);
    hp_.n_vocab = tok_embd_.n_out;
    output_norm_ = w.norm("output_norm", E);
    output_ = w.has("output.weight") ? w.matrix("output.weight", E, hp_.n_vocab) : tok_embd_;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      Layer L;
      L.attn_norm = w.norm(kit::blk(il, "attn_norm"), E);
      L.attn = w.attention(il, hp_, kit::Bias::optional);
      L.ffn_norm = w.norm(kit::blk(il, "ffn_norm"), E);
      L.up = w.linear(kit::blk(il, "ffn_up"), E, 2 * F);  // gate rows, then up rows
      L.down = w.linear(kit::blk(il, "ffn_down"), F, E);
      layers_.push_back(std::move(L));
    }
  }

 private:
  void graph(kit::Pass& p) const override {
    const int64_t E = hp_.n_embd;
    float* cur = p.buf(0, p.n * E);
    kit::Pass::Attn a;
    a.q_scale = 1.0f / std::sqrt(float(hp_.head_dim));  // before K·Q; kq_scale stays 1
    a.rope = &rope_;
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      p.rms_norm(p.x, cur, L.attn_norm, eps_, "attn_norm", il);
      p.self_attention(il, L.attn, cur, cur, a);
      p.keep_outputs(il, {cur, p.x});  // the last FFN only runs on output rows
      p.add(cur, p.x, p.x);
      p.rms_norm(p.x, cur, L.ffn_norm, eps_, "ffn_norm", il);
      p.ffn(kit::Linear{}, L.up, L.down, kit::Pass::Act::silu, cur, cur, il);
      p.add(cur, p.x, p.x);
      p.emit("l_out", il, p.x, {E, p.m});
    }
    p.finish(p.x, output_norm_, eps_, true, &output_);
  }

  float eps_ = 1e-5f;
  kernels::RopeParams rope_;
  std::vector<float> factors_;
  kit::Norm output_norm_;
  kernels::Matrix output_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<Phi3Model>(); }

}  // namespace tessel::phi3
