// Phi-3 / Phi-3.5 as llama.cpp's llm_build_phi3 builds it (no sliding window:
// llama.cpp turns Phi's off): the kit's pre-norm decoder with fused
// projections. Per layer: RMSNorm -> one attn_qkv matmul (rows Q, K, V;
// separate attn_q/k/v also load) -> NeoX RoPE over rope.dimension_count dims
// (LongRoPE factors when the file has them) -> Q * 1/sqrt(head_dim) ->
// attention (softmax scale 1) -> attn_output -> residual -> RMSNorm -> ffn_up
// giving gate then up (2 * n_ff) -> SwiGLU -> ffn_down -> residual; final
// RMSNorm and output head.
#include "phi3.hpp"

#include <algorithm>

#include "tessel/model_kit.hpp"

namespace tessel::phi3 {
namespace {

class Phi3Model : public kit::Decoder {
 public:
  Phi3Model(kit::Weights& w, const RuntimeOptions& o)
      : Decoder(w, o, {.scale_q = true, .layer = {.qkv_bias = kit::Bias::optional, .fused_up = true}}) {
    const kit::HParamReader& r = w.hparams();
    rope_.attn_factor = r.positive("rope.scaling.attn_factor", 1.0);
    // It scales q and k (the F16 KV cache overflows past ~2^8); real files have 1..2.
    if (rope_.attn_factor > 16.0f)
      r.fail("rope.scaling.attn_factor", "= " + std::to_string(rope_.attn_factor) + "; expected at most 16");
    // LongRoPE (Phi-3 128k, Phi-3.5): the long factors when a sequence's
    // context exceeds the original training context, else the short ones.
    // llama.cpp (get_rope_factors) compares its n_ctx_seq: the context rounded
    // up to a multiple of 256, split among the sequences when they don't share
    // it (a server's slots here), rounded up to 256 again.
    const int64_t n_orig = r.count("rope.scaling.original_context_length", hp_.n_ctx_train, 1, 1 << 24);
    const int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(hp_.n_ctx_train, 4096);
    auto pad256 = [](int64_t n) { return (n + 255) / 256 * 256; };
    const int64_t n_ctx_seq = o.n_seq > 1 ? pad256(pad256(n_ctx) / o.n_seq) : pad256(n_ctx);
    const auto long_f = w.optional_vector("rope_factors_long.weight", rope_.n_dims / 2);
    const auto short_f = w.optional_vector("rope_factors_short.weight", rope_.n_dims / 2);
    factors_ = n_ctx_seq > n_orig ? long_f : short_f;
    if (!factors_.empty()) rope_.freq_factors = factors_.data();
  }

 private:
  std::vector<float> factors_;
};

SynthRecipe recipe(const SynthPreset& p) {
  kit::SynthBuilder b = kit::synth_decoder(p, {.fused_qkv = true, .fused_up = true, .rope_dims = true, .eps = 1e-5f,
                                               // llama.cpp's Phi-3 vocab fix-up (general.name "phi-3...") looks it up
                                               .last_token = "<|endoftext|>"});
  b.u32("rope.scaling.original_context_length", p.shape.n_ctx);
  return b.recipe;
}

}  // namespace

std::unique_ptr<Architecture> make_architecture() {
  return kit::architecture<Phi3Model>(
      {{"phi-3-mini", "phi3", "Phi-3-mini-4k shape: 3072 wide, 32 layers, 32 heads, fused qkv and gate+up",
        {3072, 32, 32, 32, 96, 8192, 32064, 4096, false}}},
      recipe);
}

}  // namespace tessel::phi3
