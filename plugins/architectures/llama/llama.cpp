// LLaMA as llama.cpp's llm_build_llama builds it, on the model kit. Per
// layer: RMSNorm -> Q/K/V -> RoPE (normal layout) -> attention over the KV
// cache -> attn_output -> residual -> RMSNorm -> SwiGLU FFN -> residual; then
// the final RMSNorm and the output head (token_embd if tied). Also serves
// llama-3 (rope_freqs) and mistral-style files (explicit head size).
#include "llama.hpp"

#include <cmath>

#include "tessel/model_kit.hpp"

namespace tessel::llama {
namespace {

struct Layer {
  kit::Norm attn_norm, ffn_norm;
  kit::AttnWeights attn;
  kit::Linear gate, up, down;
};

class LlamaModel : public kit::Transformer {
 public:
  LlamaModel(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    kit::read_transformer(r, hp_, 2048);
    eps_ = r.positive("attention.layer_norm_rms_epsilon", 1e-5);
    rope_ = kit::read_rope(r, hp_.head_dim, false, 10000.0);
    freq_factors_ = w.optional_vector("rope_freqs.weight", rope_.n_dims / 2);
    if (!freq_factors_.empty()) rope_.freq_factors = freq_factors_.data();

    const int64_t E = hp_.n_embd, F = hp_.n_ff;
    tok_embd_ = w.matrix("token_embd.weight", E, -1);
    hp_.n_vocab = tok_embd_.n_out;
    output_norm_ = w.norm("output_norm", E);
    output_ = w.has("output.weight") ? w.matrix("output.weight", E, hp_.n_vocab) : tok_embd_;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      Layer L;
      L.attn_norm = w.norm(kit::blk(il, "attn_norm"), E);
      L.attn = w.attention(il, hp_);
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

  float eps_ = 1e-5f;
  kernels::RopeParams rope_;
  std::vector<float> freq_factors_;
  kit::Norm output_norm_;
  kernels::Matrix output_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<LlamaModel>(); }

}  // namespace tessel::llama
