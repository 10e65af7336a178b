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
    head_ = kit::load_head(w, hp_, tok_embd_);
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      layers_.push_back(kit::load_decoder_layer(w, il, hp_, {}));
      if (layers_.back().attn.q_norm.empty() || layers_.back().attn.k_norm.empty())
        throw Error(w.path() + ": tensor " + kit::blk(il, "attn_q_norm.weight") +
                    " or attn_k_norm.weight is missing; qwen3 needs both in every layer");
    }
  }

 private:
  void graph(kit::Pass& p) const override {
    kit::Pass::Attn a;
    a.kq_scale = 1.0f / std::sqrt(float(hp_.head_dim));
    a.norm_eps = eps_;
    a.rope = &rope_;
    for (int il = 0; il < int(hp_.n_layer); ++il)
      kit::decoder_layer(p, il, layers_[size_t(il)], a, eps_, kit::Pass::Act::silu);
    p.finish(p.x, head_.norm, eps_, true, &head_.output);
  }

  float eps_ = 1e-6f;
  kernels::RopeParams rope_;
  kit::Head head_;
  std::vector<kit::DecoderLayer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<Qwen3Model>(); }

}  // namespace tessel::qwen3
