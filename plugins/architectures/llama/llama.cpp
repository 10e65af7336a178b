// LLaMA as llama.cpp's llm_build_llama builds it: the kit's pre-norm
// decoder. Per layer: RMSNorm -> Q/K/V -> RoPE (normal layout) -> attention
// over the KV cache -> attn_output -> residual -> RMSNorm -> SwiGLU FFN ->
// residual; then the final RMSNorm and the output head (token_embd if tied).
// Also serves llama-3 (rope_freqs) and mistral-style files (explicit head size).
#include "llama.hpp"

#include "tessel/model_kit.hpp"

namespace tessel::llama {
namespace {

class LlamaModel : public kit::Decoder {
 public:
  LlamaModel(kit::Weights& w, const RuntimeOptions& o) : Decoder(w, o, {.n_ctx = 2048, .neox = false}) {
    freq_factors_ = w.optional_vector("rope_freqs.weight", rope_.n_dims / 2);  // llama-3
    if (!freq_factors_.empty()) rope_.freq_factors = freq_factors_.data();
  }

 private:
  std::vector<float> freq_factors_;
};

// variant "llama3": rope_freqs and rope base 5e5 (Llama-3.x files).
SynthRecipe recipe(const SynthPreset& p) {
  const bool llama3 = p.variant == "llama3";
  kit::SynthBuilder b =
      kit::synth_decoder(p, {.rope_dims = true, .key_length = false, .eps = 1e-5f, .freq_base = llama3 ? 5e5f : 1e4f});
  if (llama3)  // RoPE factors near 1 (values don't matter for speed)
    b.tensor("rope_freqs.weight", {p.shape.head_dim / 2}, SynthTensor::Fill::norm);
  return b.recipe;
}

}  // namespace

std::unique_ptr<Architecture> make_architecture() {
  return kit::architecture<LlamaModel>(
      {{"tinyllama-1.1b", "llama", "TinyLlama-1.1B shape: 2048 wide, 22 layers, 32 heads / 4 KV heads, FFN 5632",
        {2048, 22, 32, 4, 64, 5632, 32000, 2048, false}},
       {"stories-15m", "llama", "llama2.c stories15M shape: 288 wide, 6 layers, 6 heads",
        {288, 6, 6, 6, 48, 768, 32000, 256, false}},
       {"llama-3.2-1b", "llama",
        "Llama-3.2-1B shape: 2048 wide, 16 layers, 32 heads / 8 KV heads, FFN 8192, rope_freqs, tied",
        {2048, 16, 32, 8, 64, 8192, 128256, 8192, true}, "llama3"}},
      recipe);
}

}  // namespace tessel::llama
