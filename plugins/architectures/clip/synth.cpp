// tessel synth's recipe for a clip (mmproj) file: the SigLIP vision tower
// and the Gemma 3 projector, tensors as clip.cpp names them.
#include "clip.hpp"
#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::clip {

SynthRecipe synth_recipe(const SynthPreset& p) {
  using Fill = SynthTensor::Fill;
  const SynthShape& s = p.shape;
  const int64_t P = 14, E = s.n_embd, side = s.n_ctx / P;
  if (s.n_ctx % (4 * P) || E % s.n_head)
    throw Error("synth: clip needs n_ctx (the image side) a multiple of 56 and n_head dividing n_embd");
  kit::SynthBuilder b(p);
  b.recipe.meta.set("clip.projector_type", MetaValue::of_string("gemma3"));
  b.flag("has_vision_encoder", true);
  b.flag("use_gelu", true);
  b.u32("vision.image_size", s.n_ctx);
  b.u32("vision.patch_size", P);
  b.u32("vision.embedding_length", E);
  b.u32("vision.feed_forward_length", s.n_ff);
  b.u32("vision.block_count", s.n_layer);
  b.u32("vision.attention.head_count", s.n_head);
  b.f32("vision.attention.layer_norm_epsilon", 1e-6f);
  b.with_bias("v.patch_embd", {P, P, 3, E}, Fill::matrix);
  b.tensor("v.position_embd.weight", {E, side * side});
  for (int64_t il = 0; il < s.n_layer; ++il) {
    const std::string at = "v.blk." + std::to_string(il) + ".";
    b.with_bias(at + "ln1", {E}, Fill::norm);
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_out"}) b.with_bias(at + n, {E, E}, Fill::matrix);
    b.with_bias(at + "ln2", {E}, Fill::norm);
    b.with_bias(at + "ffn_up", {E, s.n_ff}, Fill::matrix);
    b.with_bias(at + "ffn_down", {s.n_ff, E}, Fill::matrix);
  }
  b.with_bias("v.post_ln", {E}, Fill::norm);
  b.tensor("mm.soft_emb_norm.weight", {E}, Fill::norm);
  b.tensor("mm.input_projection.weight", {s.n_vocab, E});
  return b.recipe;
}

}  // namespace tessel::clip
