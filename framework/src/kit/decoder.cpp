// The pre-norm decoder block and output head shared by the decoder plugins.
#include <cmath>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::kit {

Head load_head(Weights& w, HParams& hp, k::Matrix& tok_embd, bool always_tied) {
  tok_embd = w.matrix("token_embd.weight", hp.n_embd, -1);
  hp.n_vocab = tok_embd.n_out;
  Head h;
  h.norm = w.norm("output_norm", hp.n_embd);
  h.output = !always_tied && w.has("output.weight") ? w.matrix("output.weight", hp.n_embd, hp.n_vocab)
                                                    : tok_embd;
  return h;
}

DecoderLayer load_decoder_layer(Weights& w, int64_t il, const HParams& hp, const DecoderOptions& o) {
  const int64_t E = hp.n_embd, F = hp.n_ff;
  DecoderLayer l;
  l.attn_norm = w.norm(blk(il, "attn_norm"), E);
  l.attn = w.attention(il, hp, o.qkv_bias);
  if (o.qk_norm && (l.attn.q_norm.empty() || l.attn.k_norm.empty()))
    throw Error(w.path() + ": tensor " + blk(il, "attn_q_norm.weight") + " or attn_k_norm.weight is missing; the " +
                hp.arch + " architecture needs both in every layer");
  l.ffn_norm = w.norm(blk(il, "ffn_norm"), E);
  if (!o.fused_up) l.gate = w.linear(blk(il, "ffn_gate"), E, F);
  l.up = w.linear(blk(il, "ffn_up"), E, o.fused_up ? 2 * F : F);
  l.down = w.linear(blk(il, "ffn_down"), F, E);
  if (o.post_norms) {
    l.post_attn_norm = w.norm(blk(il, "post_attention_norm"), E);
    l.post_ffw_norm = w.norm(blk(il, "post_ffw_norm"), E);
  }
  l.post_ffw_norm_unnumbered = o.post_ffw_norm_unnumbered;
  return l;
}

void decoder_layer(Pass& p, int il, const DecoderLayer& l, const Pass::Attn& a, float eps,
                   Pass::Act act) {
  const int64_t E = p.hp.n_embd;
  float* cur = p.buf(0, p.n * E);
  p.rms_norm(p.x, cur, l.attn_norm, eps, "attn_norm", il);
  p.self_attention(il, l.attn, cur, cur, a);
  p.keep_outputs(il, {cur, p.x});  // the rest of the last layer runs on output rows only
  if (l.post_attn_norm.present()) p.rms_norm(cur, cur, l.post_attn_norm, eps, "attn_post_norm", il);
  p.add(cur, p.x, p.x);
  p.emit(l.post_attn_norm.present() ? "sa_out" : "ffn_inp", il, p.x, {E, p.m});
  p.rms_norm(p.x, cur, l.ffn_norm, eps, "ffn_norm", il);
  p.ffn(l.gate, l.up, l.down, act, cur, cur, il);
  if (l.post_ffw_norm.present())
    p.rms_norm(cur, cur, l.post_ffw_norm, eps, "ffn_post_norm", l.post_ffw_norm_unnumbered ? -1 : il);
  p.add(cur, p.x, p.x);
  p.emit("l_out", il, p.x, {E, p.m});
}

Decoder::Decoder(Weights& w, const RuntimeOptions& o, const DecoderSpec& s) : Transformer(o), act_(s.act) {
  const HParamReader& r = w.hparams();
  read_transformer(r, hp_, s.n_ctx);
  eps_ = r.positive("attention.layer_norm_rms_epsilon", s.eps);
  rope_ = read_rope(r, hp_.head_dim, s.neox, s.rope_base);
  if (s.rope_whole_head && rope_.n_dims != hp_.head_dim)  // llama.cpp asserts n_rot == head size
    r.fail("rope.dimension_count", "= " + std::to_string(rope_.n_dims) + "; expected the head size " +
                                       std::to_string(hp_.head_dim));
  rope_swa_ = rope_;
  const float scale = 1.0f / std::sqrt(float(hp_.head_dim));
  (s.scale_q ? attn_.q_scale : attn_.kq_scale) = scale;
  attn_.norm_eps = eps_;
  head_ = load_head(w, hp_, tok_embd_, s.always_tied);
  for (int64_t il = 0; il < hp_.n_layer; ++il) layers_.push_back(load_decoder_layer(w, il, hp_, s.layer));
}

void Decoder::graph(Pass& p) const {
  for (int il = 0; il < int(hp_.n_layer); ++il) {
    const DecoderLayer& l = layers_[size_t(il)];
    Pass::Attn a = attn_;
    a.swa = l.swa;
    a.rope = l.swa ? &rope_swa_ : &rope_;
    decoder_layer(p, il, l, a, eps_, act_);
  }
  p.finish(p.x, head_.norm, eps_, true, hp_.has_logits ? &head_.output : nullptr, final_softcap_);
}

namespace {
class DecoderArchitecture : public Architecture {
 public:
  DecoderArchitecture(const DecoderSpec& spec, const SynthDecoder& synth, std::vector<SynthPreset> presets)
      : spec_(spec), synth_(synth), presets_(std::move(presets)) {}
  std::unique_ptr<Model> load(const ModelFile& f, const CodecSet& codecs, const RuntimeOptions& o) const override {
    Weights w(f, codecs);
    auto m = std::make_unique<Decoder>(w, o, spec_);
    w.check_all_used();
    return m;
  }
  std::vector<SynthPreset> synth_presets() const override { return presets_; }
  SynthRecipe synth_recipe(const SynthPreset& p) const override { return synth_decoder(p, synth_).recipe; }

 private:
  DecoderSpec spec_;
  SynthDecoder synth_;
  std::vector<SynthPreset> presets_;
};
}  // namespace

std::unique_ptr<Architecture> decoder_architecture(const DecoderSpec& spec, const SynthDecoder& synth,
                                                   std::vector<SynthPreset> presets) {
  return std::make_unique<DecoderArchitecture>(spec, synth, std::move(presets));
}

}  // namespace tessel::kit
