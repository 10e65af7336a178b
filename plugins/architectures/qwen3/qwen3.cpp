// Qwen3 (dense) as llama.cpp's llm_build_qwen3 builds it, on the model kit.
// Per layer: RMSNorm -> Q/K/V (no biases) -> per-head RMSNorm of Q and of K
// over head_dim (attn_q_norm / attn_k_norm) -> NeoX RoPE -> attention over
// the KV cache (softmax scale 1/sqrt(head_dim)) -> attn_output -> residual ->
// RMSNorm -> SwiGLU FFN -> residual; final RMSNorm, output head (tied or not).
// The head size comes from attention.key_length and need not be n_embd/n_head.
#include "qwen3.hpp"

#include <cmath>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::qwen3 {
namespace {

struct Layer {
  kit::Norm attn_norm, ffn_norm;
  kit::AttnWeights attn;
  kit::Linear gate, up, down;
};

class Qwen3Model : public kit::Transformer {
 public:
  Qwen3Model(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    kit::read_transformer(r, hp_, 40960);
    eps_ = r.positive("attention.layer_norm_rms_epsilon", 1e-6);
    rope_ = kit::read_rope(r, hp_.head_dim, true, 10000.0);
    if (rope_.n_dims != hp_.head_dim)  // llama.cpp asserts n_rot == head size for qwen3
      r.fail("rope.dimension_count", "= " + std::to_string(rope_.n_dims) +
                                         "; expected the head size " + std::to_string(hp_.head_dim));

    const int64_t E = hp_.n_embd, F = hp_.n_ff;
    tok_embd_ = w.matrix("token_embd.weight", E, -1);
    hp_.n_vocab = tok_embd_.n_out;
    output_norm_ = w.norm("output_norm", E);
    output_ = w.has("output.weight") ? w.matrix("output.weight", E, hp_.n_vocab) : tok_embd_;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      Layer L;
      L.attn_norm = w.norm(kit::blk(il, "attn_norm"), E);
      L.attn = w.attention(il, hp_);
      if (L.attn.q_norm.empty() || L.attn.k_norm.empty())
        throw Error(w.path() + ": tensor " + kit::blk(il, "attn_q_norm.weight") + " / " +
                    "attn_k_norm.weight is missing; qwen3 needs both in every layer");
      L.ffn_norm = w.norm(kit::blk(il, "ffn_norm"), E);
      L.gate = w.linear(kit::blk(il, "ffn_gate"), E, F);
      L.up = w.linear(kit::blk(il, "ffn_up"), E, F);
      L.down = w.linear(kit::blk(il, "ffn_down"), F, E);
      layers_.push_back(std::move(L));
    }
  }

 private:
  void graph(kit::Pass& p) const override {
    const int64_t E = hp_.n_embd;
    float* cur = p.buf(0, p.n * E);
    kit::Pass::Attn a;
    a.kq_scale = 1.0f / std::sqrt(float(hp_.head_dim));
    a.norm_eps = eps_;
    a.rope = &rope_;
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      p.rms_norm(p.x, cur, L.attn_norm, eps_, "attn_norm", il);
      p.self_attention(il, L.attn, cur, cur, a);
      p.keep_outputs(il, {cur, p.x});  // the last FFN only runs on output rows
      p.add(cur, p.x, p.x);
      p.emit("ffn_inp", il, p.x, {E, p.m});
      p.rms_norm(p.x, cur, L.ffn_norm, eps_, "ffn_norm", il);
      p.ffn(L.gate, L.up, L.down, kit::Pass::Act::silu, cur, cur, il);
      p.add(cur, p.x, p.x);
      p.emit("l_out", il, p.x, {E, p.m});
    }
    p.finish(p.x, output_norm_, eps_, true, &output_);
  }

  float eps_ = 1e-6f;
  kernels::RopeParams rope_;
  kit::Norm output_norm_;
  kernels::Matrix output_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<Qwen3Model>(); }

}  // namespace tessel::qwen3
