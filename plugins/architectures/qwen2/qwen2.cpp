// Qwen2 / Qwen2.5 as llama.cpp's llm_build_qwen2 builds it: the kit's
// pre-norm decoder with a bias on each of Q, K and V. Per layer: RMSNorm ->
// Q/K/V (+ bias) -> NeoX RoPE over the whole head -> attention over the KV
// cache (softmax scale 1/sqrt(head_dim)) -> attn_output -> residual -> RMSNorm
// -> SwiGLU FFN -> residual; then the final RMSNorm and the output head
// (token_embd when tied).
#include "qwen2.hpp"

#include "tessel/model_kit.hpp"

namespace tessel::qwen2 {

std::unique_ptr<Architecture> make_architecture() {
  // Qwen2 files have the biases; llama.cpp does not insist on them.
  return kit::decoder_architecture(
      {.n_ctx = 32768, .eps = 1e-6, .rope_whole_head = true, .layer = {.qkv_bias = kit::Bias::optional}},
      {.qkv_bias = true, .freq_base = 1e6f},
      {{"qwen2.5-0.5b", "qwen2", "Qwen2.5-0.5B shape: 896 wide, 24 layers, 14 heads / 2 KV heads, q/k/v biases, tied",
        {896, 24, 14, 2, 64, 4864, 151936, 32768, true}}});
}

}  // namespace tessel::qwen2
