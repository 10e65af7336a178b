// The vision encoder of llama.cpp's mmproj files (clip.cpp's build_vit) and
// the Gemma 3 projector (clip_graph_siglip), on the model kit:
//   patch conv (im2col in F16, as ggml_conv_2d) + bias + position embedding
//   -> [pre_ln] -> blocks (LayerNorm, Q/K/V with bias, F32 attention,
//   attn_out, residual, LayerNorm, FFN up -> GELU -> down, residual)
//   -> post_ln -> avg-pool n_merge x n_merge -> RMSNorm * soft_emb_norm
//   -> input projection (F16: its input is rounded to F16).
// Intermediates reach the sink under clip.cpp's graph names.
#include "clip.hpp"

#include <cmath>
#include <mutex>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"
#include "tessel/vision.hpp"

namespace tessel::clip {
namespace {

struct Block {
  kit::Norm ln1, ln2;
  kit::AttnWeights attn;
  kit::Linear up, down;
};

class ClipModel : public VisionModel {
 public:
  ClipModel(kit::Weights& w, const RuntimeOptions& o) {
    const kit::HParamReader& r = w.hparams();
    auto& v = vhp_;
    v.projector = r.string("projector_type", "");
    if (v.projector != "gemma3") r.fail("projector_type", "'" + v.projector + "' is not supported (gemma3)");
    if (!r.flag("has_vision_encoder", true)) r.fail("has_vision_encoder", "is false; no vision encoder");
    if (!r.flag("use_gelu", false)) r.fail("use_gelu", "is false; only GELU vision FFNs are supported");
    eps_ = kit::read_vision(r, v, vit_, 4);  // gemma3 pools 4 x 4 patches unless the file says
    const int64_t E = v.n_embd, P = v.patch_size, side = v.image_size / P;
    using kit::Bias;
    // Patch conv: ggml's im2col is F16, so the kernel enters the dot as F16.
    patch_.w = owned_.make(w.codecs(), "v.patch_embd.weight", TypeId::F16,
                           w.vector("v.patch_embd.weight", P * P * 3 * E), 3 * P * P, E);
    patch_.b = w.optional_vector("v.patch_embd.bias", E);
    pos_ = w.vector("v.position_embd.weight", side * side * E);
    pre_ln_ = w.optional_norm("v.pre_ln", E, Bias::required);
    for (int64_t il = 0; il < v.n_layer; ++il) {
      const std::string b = "v.blk." + std::to_string(il) + ".";
      Block B;
      B.ln1 = w.norm(b + "ln1", E, Bias::required), B.ln2 = w.norm(b + "ln2", E, Bias::required);
      B.attn = w.attention(b, vit_, Bias::required, Bias::required, "attn_out");
      B.up = w.linear(b + "ffn_up", E, v.n_ff, Bias::required);
      B.down = w.linear(b + "ffn_down", v.n_ff, E, Bias::required);
      blocks_.push_back(std::move(B));
    }
    post_ln_ = w.norm("v.post_ln", E, Bias::required);
    soft_norm_ = w.norm("mm.soft_emb_norm", E);
    // mm.input_projection.weight is [n_embd_text, n_embd_vision] in ggml order and used
    // transposed (ggml_cont(ggml_transpose(W))) in its own type.
    const TensorInfo& ip = w.info("mm.input_projection.weight");
    v.n_embd_out = ip.ne[0];
    const auto wt = kit::transpose(w.vector(ip.name, E * v.n_embd_out), E, v.n_embd_out);
    proj_ = owned_.make(w.codecs(), ip.name, ip.type == TypeId::F16 ? TypeId::F16 : TypeId::F32, wt, E, v.n_embd_out);
    hp_.arch = "clip";
    hp_.n_embd = hp_.n_embd_out = v.n_embd_out;
    hp_.n_layer = v.n_layer, hp_.n_head = hp_.n_head_kv = v.n_head, hp_.n_ff = v.n_ff;
    hp_.head_dim = vit_.head_dim;
    hp_.causal = hp_.has_logits = false;
    ctx_ = std::make_unique<kit::ModelContext>(vit_, o, side * side, false);  // one pool, -t threads
  }

  const HParams& hparams() const override { return hp_; }
  const VisionHParams& vision() const override { return vhp_; }
  bool decode_non_causal() const override { return vhp_.projector == "gemma3"; }

  std::vector<float> encode(std::span<const float> pixels, int64_t nx, int64_t ny,
                            TensorSink* sink) const override {
    const VisionHParams& v = vhp_;
    const int64_t E = v.n_embd, P = v.patch_size, gx = nx / P, gy = ny / P, n = gx * gy;
    if (nx != v.image_size || ny != v.image_size || pixels.size() != size_t(3 * nx * ny))
      throw Error("clip: the vision encoder takes 3 x " + std::to_string(v.image_size) + " x " +
                  std::to_string(v.image_size) + " pixels, got 3 x " + std::to_string(ny) + " x " +
                  std::to_string(nx) + " (" + std::to_string(pixels.size()) + " values)");
    std::lock_guard<std::mutex> lock(mu_);
    Batch batch;
    for (int64_t i = 0; i < n; ++i) batch.add_token(0, int32_t(i), 0, true);
    batch.causal = false;
    Outputs out;
    out.sink = sink;
    kit::Pass p(vit_, batch, *ctx_, out, {}, {});  // no KV cache: no cells
    float* cols = p.buf(0, n * 3 * P * P);
    kit::image_patches(pixels, nx, ny, P, true, cols);  // ggml's im2col is F16
    p.linear(patch_, cols, p.x);
    p.emit("patch_bias", -1, p.x, {E, n});
    kernels::add(p.x, pos_.data(), p.x, n * E);
    p.emit("pos_embed", -1, p.x, {E, n});
    if (pre_ln_.present()) p.layer_norm(p.x, p.x, pre_ln_, eps_, "pre_ln", -1);
    float* cur = p.buf(1, n * E);
    kit::Pass::Attn a;
    a.kq_scale = 1.0f / std::sqrt(float(vit_.head_dim));
    for (int il = 0; il < int(v.n_layer); ++il) {
      const Block& B = blocks_[size_t(il)];
      p.layer_norm(p.x, cur, B.ln1, eps_, "ln1", il);
      p.self_attention(il, B.attn, cur, cur, a);  // every patch sees every patch, F32
      p.add(cur, p.x, p.x);                       // ffn_inp
      p.layer_norm(p.x, cur, B.ln2, eps_, "ln2", il);
      p.ffn({}, B.up, B.down, kit::Pass::Act::gelu, cur, cur, il, false);
      p.add(p.x, cur, p.x);
      p.emit("layer_out", il, p.x, {E, n});
    }
    p.layer_norm(p.x, p.x, post_ln_, eps_, "norm_b", -1);
    // Gemma 3 projector: average n_merge x n_merge patches, RMSNorm, project.
    const int64_t s = v.n_merge, ox = gx / s, m = ox * (gy / s);
    float* pooled = p.buf(2, m * E);
    kit::avg_pool_2d(p.x, gx, gy, E, s, pooled);
    p.rms_norm(pooled, pooled, soft_norm_, eps_, nullptr, -1, m, E);
    std::vector<float> rows(size_t(m * v.n_embd_out));
    p.linear({proj_, {}}, pooled, rows.data(), m);
    p.emit("image_embd", -1, rows.data(), {v.n_embd_out, m});
    return rows;
  }

 private:
  HParams hp_, vit_;
  VisionHParams vhp_;
  float eps_ = 1e-6f;
  kit::OwnedMatrices owned_;
  kit::Linear patch_;
  std::vector<float> pos_;
  kit::Norm pre_ln_, post_ln_, soft_norm_;
  kernels::Matrix proj_;
  std::vector<Block> blocks_;
  mutable std::mutex mu_;
  std::unique_ptr<kit::ModelContext> ctx_;
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() {
  return kit::architecture<ClipModel>(
      {{"siglip-gemma3", "clip",
        "Gemma 3's SigLIP mmproj: 896 pixels, patch 14, 1152 wide, 27 layers, 16 heads, FFN 4304, "
        "into 2560 (n_ctx: image side, n_vocab: text width)",
        {1152, 27, 16, 16, 72, 4304, 2560, 896, false}}},
      synth_recipe);
}

}  // namespace tessel::clip
