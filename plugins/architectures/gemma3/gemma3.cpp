// Gemma 3's text model as llama.cpp's llm_build_gemma3 builds it, on the
// kit's pre-norm decoder, and in a second mode EmbeddingGemma
// (llm_build_gemma_embedding, general.architecture gemma-embedding): the same
// layers as an encoder (no KV cache, symmetric sliding window, no output
// head), dense_2 / dense_3 applied after pooling. Per layer: RMSNorm -> Q/K/V
// -> per-head RMSNorm (q/k norm) -> NeoX RoPE (sliding layers with
// freq_base_swa) -> Q * f_attention_scale -> attention (sliding layers see a
// window) -> attn_output -> post norm -> + residual -> RMSNorm -> GeGLU FFN ->
// post norm -> + residual. Token input is scaled by sqrt(n_embd); raw
// embedding rows (batch.embd, image rows) are not. Output head tied to
// token_embd unless output.weight; logits capped by final_logit_softcapping
// when set.
#include "gemma3.hpp"

#include <cmath>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::gemma3 {
namespace {

kit::DecoderSpec spec(bool encoder) {
  return {.n_ctx = encoder ? 2048 : 8192, .eps = 1e-6, .rope_base = encoder ? 10000.0 : 1000000.0,
          .always_tied = encoder, .act = kit::Pass::Act::gelu, .layer = {.post_norms = true}};
}

class Gemma3Model : public kit::Decoder {
 public:
  Gemma3Model(kit::Weights& w, const RuntimeOptions& o)
      : Decoder(w, o, spec(w.hparams().arch() == "gemma-embedding")) {
    const kit::HParamReader& r = w.hparams();
    const bool encoder = r.arch() == "gemma-embedding";
    hp_.causal = hp_.has_logits = !encoder;
    if (encoder) hp_.pooling = r.pooling("pooling_type");
    const auto swa_type = encoder ? kernels::MaskParams::Swa::symmetric : kernels::MaskParams::Swa::standard;
    const std::vector<bool> swa = kit::read_swa(r, hp_.n_layer, 6, swa_type, swa_);
    for (int64_t il = 0; il < hp_.n_layer; ++il) layers_[size_t(il)].swa = swa[size_t(il)];
    rope_swa_.freq_base = r.positive("rope.freq_base_swa", 10000.0);
    rope_swa_.freq_scale = 1.0f;
    final_softcap_ = r.non_negative("final_logit_softcapping", 0.0);
    // llama.cpp (gemma_pytorch's query_pre_attn_scalar): the 62-layer 27B
    // scales by 1/sqrt(n_embd / n_head), every other size by 1/sqrt(head_dim).
    attn_.kq_scale = 1.0f;
    attn_.q_scale = 1.0f / std::sqrt(float(hp_.n_layer == 62 ? hp_.n_embd / hp_.n_head : hp_.head_dim));
    token_scale_ = std::sqrt(float(hp_.n_embd));
    dense_2_ = w.optional_linear("dense_2", hp_.n_embd, -1);
    dense_3_ = w.optional_linear("dense_3", dense_2_.present() ? dense_2_.n_out() : hp_.n_embd, -1);
    hp_.n_embd_out = dense_3_.present() ? dense_3_.n_out() : dense_2_.present() ? dense_2_.n_out() : hp_.n_embd;
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

  // EmbeddingGemma's task prompts (its model card).
  std::string task_prompt(const std::string& task) const override {
    if (hp_.causal) return Model::task_prompt(task);
    if (task == "query") return "task: search result | query: ";
    if (task == "document") return "title: none | text: ";
    throw Error("--task '" + task + "' is not one of: query, document");
  }

 private:
  kit::Linear dense_2_, dense_3_;
};

SynthRecipe recipe(const SynthPreset& p) {
  const bool encoder = p.arch == "gemma-embedding";
  SynthPreset tied = p;  // no output head in the encoder
  tied.shape.tied = tied.shape.tied || encoder;
  kit::SynthBuilder b = kit::synth_decoder(tied, {.qk_norm = true, .post_norms = true, .freq_base = 1e6f});
  b.u32("attention.sliding_window", 512);
  if (!encoder) return b.recipe;
  const int64_t e = p.shape.n_embd;
  b.u32("pooling_type", 1);  // mean
  b.u32("dense_2_feat_in", e);
  b.u32("dense_2_feat_out", 4 * e);
  b.u32("dense_3_feat_in", 4 * e);
  b.u32("dense_3_feat_out", e);
  b.tensor("dense_2.weight", {e, 4 * e});
  b.tensor("dense_3.weight", {4 * e, e});
  b.recipe.meta.set("tokenizer.ggml.add_bos_token", MetaValue::of_bool(true));
  b.recipe.meta.set("tokenizer.ggml.add_eos_token", MetaValue::of_bool(true));
  return b.recipe;
}

}  // namespace

std::unique_ptr<Architecture> make_architecture(bool encoder) {
  if (encoder)
    return kit::architecture<Gemma3Model>(
        {{"embeddinggemma-300m", "gemma-embedding",
          "EmbeddingGemma-300M shape: 768 wide, 24 layers, 3 heads / 1 KV head of 256, FFN 1152, dense heads",
          {768, 24, 3, 1, 256, 1152, 262144, 2048, true}}},
        recipe);
  return kit::architecture<Gemma3Model>(
      {{"gemma-3-1b", "gemma3", "Gemma-3-1B shape: 1152 wide, 26 layers, 4 heads / 1 KV head of 256, sliding 512",
        {1152, 26, 4, 1, 256, 6912, 262144, 32768, true}}},
      recipe);
}

}  // namespace tessel::gemma3
