// The pre-norm decoder block and output head shared by the decoder plugins.
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

}  // namespace tessel::kit
