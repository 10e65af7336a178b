// Qwen3 (dense) as llama.cpp's llm_build_qwen3 builds it: the kit's pre-norm
// decoder with per-head RMSNorm of Q and K. Per layer: RMSNorm -> Q/K/V (no
// biases) -> RMSNorm of each head of Q and of K over head_dim (attn_q_norm /
// attn_k_norm, required) -> NeoX RoPE over the whole head -> attention over
// the KV cache (softmax scale 1/sqrt(head_dim)) -> attn_output -> residual ->
// RMSNorm -> SwiGLU FFN -> residual; final RMSNorm, output head (tied or
// not). The head size comes from attention.key_length and need not be
// n_embd / n_head.
#include "qwen3.hpp"

#include "tessel/model_kit.hpp"

namespace tessel::qwen3 {

std::unique_ptr<Architecture> make_architecture() {
  const kit::DecoderSpec spec{.n_ctx = 40960, .eps = 1e-6, .rope_whole_head = true, .layer = {.qk_norm = true}};
  const kit::SynthDecoder synth{.qk_norm = true, .freq_base = 1e6f};
  const SynthPreset qwen3_06b{"qwen3-0.6b", "qwen3",
                              "Qwen3-0.6B shape: 1024 wide, 28 layers, 16 heads / 8 KV heads of 128, q/k norms, tied",
                              {1024, 28, 16, 8, 128, 3072, 151936, 40960, true}};
  return kit::decoder_architecture(spec, synth, {qwen3_06b});
}

}  // namespace tessel::qwen3
