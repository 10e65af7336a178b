// Qwen2 / Qwen2.5 as llama.cpp's llm_build_qwen2 builds it, on the model kit.
// Per layer: RMSNorm -> Q/K/V each plus its bias -> NeoX RoPE (pairs i,
// i + d/2) -> attention over the KV cache (softmax scale 1/sqrt(head_dim)) ->
// attn_output -> residual -> RMSNorm -> SwiGLU FFN -> residual; then the final
// RMSNorm and the output head (token_embd when tied).
#include "qwen2.hpp"

#include <cmath>

#include "tessel/model_kit.hpp"

namespace tessel::qwen2 {
namespace {

class Qwen2Model : public kit::Transformer {
 public:
  Qwen2Model(kit::Weights& w, const RuntimeOptions& o) : Transformer(o) {
    const kit::HParamReader& r = w.hparams();
    kit::read_transformer(r, hp_, 32768);
    eps_ = r.positive("attention.layer_norm_rms_epsilon", 1e-6);
    rope_ = kit::read_rope(r, hp_.head_dim, true, 10000.0);
    if (rope_.n_dims != hp_.head_dim)  // llama.cpp asserts n_rot == head size for qwen2
      r.fail("rope.dimension_count", "= " + std::to_string(rope_.n_dims) +
                                         "; expected the head size " + std::to_string(hp_.head_dim));
    head_ = kit::load_head(w, hp_, tok_embd_);
    kit::DecoderOptions d;
    d.qkv_bias = kit::Bias::optional;  // Qwen2 files have them; llama.cpp does not insist
    for (int64_t il = 0; il < hp_.n_layer; ++il) layers_.push_back(kit::load_decoder_layer(w, il, hp_, d));
  }

 private:
  void graph(kit::Pass& p) const override {
    kit::Pass::Attn a;
    a.kq_scale = 1.0f / std::sqrt(float(hp_.head_dim));
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

std::unique_ptr<Architecture> make_architecture() { return kit::architecture<Qwen2Model>(); }

}  // namespace tessel::qwen2
