// The vision encoder of llama.cpp's mmproj files (clip.cpp's build_vit) and
// the Gemma 3 projector (clip_graph_siglip), from the core kernels:
//   patch conv (im2col in F16, as ggml_conv_2d) + bias + position embedding
//   -> [pre_ln] -> blocks (LayerNorm, Q/K/V with bias, F32 attention,
//   attn_out, residual, LayerNorm, FFN up -> GELU -> down, residual)
//   -> post_ln -> avg-pool n_merge x n_merge -> RMSNorm * soft_emb_norm
//   -> input projection (F16: its input is rounded to F16).
// Intermediates reach the sink under clip.cpp's graph names.
#include "clip.hpp"

#include <cmath>
#include <initializer_list>
#include <string>

#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/kernels.hpp"
#include "tessel/vision.hpp"

namespace tessel::clip {
namespace {

namespace k = kernels;

struct Block {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b, q_b, k_b, v_b, o_b, up_b, down_b;
  k::Matrix q, k, v, o, up, down;
};

class ClipModel : public VisionModel {
 public:
  ClipModel(const ModelFile& f, const CodecSet& codecs, const RuntimeOptions& opts)
      : file_(&f), codecs_(&codecs), path_(f.path.string()), threads_(opts.threads) {
    const Metadata& m = f.meta;
    auto& v = vhp_;
    v.projector = m.get_string("clip.projector_type", "");
    if (v.projector != "gemma3")
      throw Error(f.path.string() + ": clip.projector_type '" + v.projector +
                  "' is not supported (supported: gemma3)");
    if (!m.get_bool("clip.has_vision_encoder", true))
      throw Error(f.path.string() + ": clip.has_vision_encoder is false; no vision encoder");
    if (!m.get_bool("clip.use_gelu", false))
      throw Error(f.path.string() + ": only clip.use_gelu = true vision FFNs are supported");
    v.image_size = m.get_int("clip.vision.image_size");
    v.patch_size = m.get_int("clip.vision.patch_size");
    v.n_embd = m.get_int("clip.vision.embedding_length");
    v.n_ff = m.get_int("clip.vision.feed_forward_length");
    v.n_layer = m.get_int("clip.vision.block_count");
    v.n_head = m.get_int("clip.vision.attention.head_count");
    v.n_merge = m.get_int("clip.vision.projector.scale_factor", 4);  // gemma3's default pool
    eps_ = float(m.get_float("clip.vision.attention.layer_norm_epsilon", 1e-6));
    if (m.has("clip.vision.image_mean")) {
      const auto mean = m.get_floats("clip.vision.image_mean");
      const auto sd = m.get_floats("clip.vision.image_std");
      if (mean.size() != 3 || sd.size() != 3)
        throw Error(f.path.string() + ": clip.vision.image_mean/image_std need 3 values");
      for (int c = 0; c < 3; ++c) v.image_mean[c] = mean[c], v.image_std[c] = sd[c];
    }
    if (v.patch_size <= 0 || v.image_size % v.patch_size != 0 || v.n_head <= 0 ||
        v.n_embd % v.n_head != 0 || v.n_merge <= 0 || (v.image_size / v.patch_size) % v.n_merge)
      throw Error(f.path.string() + ": inconsistent clip.vision sizes (image " +
                  std::to_string(v.image_size) + ", patch " + std::to_string(v.patch_size) +
                  ", heads " + std::to_string(v.n_head) + ", scale factor " +
                  std::to_string(v.n_merge) + ")");
    const int64_t E = v.n_embd, P = v.patch_size, side = v.image_size / P;
    // Patch conv: ggml's im2col is F16, so the kernel enters the dot as F16.
    patch_w16_ = to_f16(vec(f.get("v.patch_embd.weight").name, P * P * 3 * E));
    patch_w_ = f16_matrix("v.patch_embd.weight", patch_w16_, 3 * P * P, E);
    if (f.find("v.patch_embd.bias")) patch_b_ = vec("v.patch_embd.bias", E);
    pos_ = vec("v.position_embd.weight", side * side * E);
    if (f.find("v.pre_ln.weight")) {
      pre_w_ = vec("v.pre_ln.weight", E);
      pre_b_ = vec("v.pre_ln.bias", E);
    }
    for (int64_t il = 0; il < v.n_layer; ++il) {
      const std::string b = "v.blk." + std::to_string(il) + ".";
      Block B;
      B.ln1_w = vec(b + "ln1.weight", E), B.ln1_b = vec(b + "ln1.bias", E);
      B.ln2_w = vec(b + "ln2.weight", E), B.ln2_b = vec(b + "ln2.bias", E);
      B.q = mat(b + "attn_q.weight", E, E), B.q_b = vec(b + "attn_q.bias", E);
      B.k = mat(b + "attn_k.weight", E, E), B.k_b = vec(b + "attn_k.bias", E);
      B.v = mat(b + "attn_v.weight", E, E), B.v_b = vec(b + "attn_v.bias", E);
      B.o = mat(b + "attn_out.weight", E, E), B.o_b = vec(b + "attn_out.bias", E);
      B.up = mat(b + "ffn_up.weight", E, v.n_ff), B.up_b = vec(b + "ffn_up.bias", v.n_ff);
      B.down = mat(b + "ffn_down.weight", v.n_ff, E), B.down_b = vec(b + "ffn_down.bias", E);
      blocks_.push_back(std::move(B));
    }
    post_w_ = vec("v.post_ln.weight", E);
    post_b_ = vec("v.post_ln.bias", E);
    soft_norm_ = vec("mm.soft_emb_norm.weight", E);
    // mm.input_projection.weight is [n_embd_text, n_embd_vision] in ggml order and
    // used transposed (ggml_cont(ggml_transpose(W))) in its own type: F16 rows.
    const TensorInfo& ip = f.get("mm.input_projection.weight");
    if (ip.ne[1] != E || ip.ne[2] != 1 || ip.ne[3] != 1)
      throw Error(f.path.string() + ": tensor mm.input_projection.weight has shape " +
                  ip.shape_string() + "; expected [n_embd_text, " + std::to_string(E) + "]");
    v.n_embd_out = ip.ne[0];
    const std::vector<float> w = vec(ip.name, E * v.n_embd_out);
    std::vector<float> wt(w.size());
    for (int64_t r = 0; r < E; ++r)
      for (int64_t c = 0; c < v.n_embd_out; ++c) wt[size_t(c * E + r)] = w[size_t(r * v.n_embd_out + c)];
    if (ip.type == TypeId::F16) {
      proj16_ = to_f16(wt);
      proj_ = f16_matrix(ip.name, proj16_, E, v.n_embd_out);
    } else {
      proj32_ = std::move(wt);
      proj_ = f32_matrix(ip.name, proj32_, E, v.n_embd_out);
    }
    hp_.arch = "clip";
    hp_.n_embd = hp_.n_embd_out = v.n_embd_out;
    hp_.n_layer = v.n_layer;
    hp_.n_head = hp_.n_head_kv = v.n_head;
    hp_.head_dim = E / v.n_head;
    hp_.n_ff = v.n_ff;
    hp_.causal = false;
    hp_.has_logits = false;
  }

  const HParams& hparams() const override { return hp_; }
  const VisionHParams& vision() const override { return vhp_; }
  bool decode_non_causal() const override { return vhp_.projector == "gemma3"; }

  std::unique_ptr<Context> new_context(const RuntimeOptions&) const override {
    throw Error(path_ + ": a clip vision encoder is not a text model; "
                "use it through the 'image' input adapter (--mmproj)");
  }
  void forward(const Batch&, Context&, Outputs&) override {
    throw Error(path_ + ": a clip vision encoder has no forward(); use encode()");
  }
  void embed_tokens(std::span<const TokenId>, float*) const override {
    throw Error(path_ + ": a clip vision encoder has no token embeddings");
  }

  std::vector<float> encode(std::span<const float> pixels, int64_t nx, int64_t ny,
                            TensorSink* sink) const override {
    const VisionHParams& v = vhp_;
    const int64_t E = v.n_embd, P = v.patch_size, H = v.n_head, D = E / H, F = v.n_ff;
    if (nx != v.image_size || ny != v.image_size || pixels.size() != size_t(3 * nx * ny))
      throw Error(path_ + ": the vision encoder takes 3 x " +
                  std::to_string(v.image_size) + " x " + std::to_string(v.image_size) +
                  " pixels, got 3 x " + std::to_string(ny) + " x " + std::to_string(nx) +
                  " (" + std::to_string(pixels.size()) + " values)");
    auto emit = [&](const std::string& name, int il, const float* d,
                    std::initializer_list<int64_t> ne) {
      if (sink) sink->on_tensor(il >= 0 ? name + "-" + std::to_string(il) : name, d, ne);
    };
    ThreadPool pool(threads_);
    k::Scratch scratch;
    const int64_t gx = nx / P, gy = ny / P, n = gx * gy;
    // im2col: one row per patch, [channel][ky][kx] as ggml_im2col lays it out.
    std::vector<float> cols(size_t(n * 3 * P * P));
    for (int64_t py = 0; py < gy; ++py)
      for (int64_t px = 0; px < gx; ++px)
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t ky = 0; ky < P; ++ky)
            for (int64_t kx = 0; kx < P; ++kx)
              cols[size_t(((py * gx + px) * 3 + c) * P * P + ky * P + kx)] = round_fp16(
                  pixels[size_t((c * ny + py * P + ky) * nx + px * P + kx)]);
    std::vector<float> x(size_t(n * E)), cur(size_t(n * E)), q(size_t(n * E)), kb(size_t(n * E)),
        vb(size_t(n * E)), attn(size_t(n * E)), ff(size_t(n * F));
    k::matmul(pool, patch_w_, cols.data(), n, x.data(), scratch);
    if (!patch_b_.empty()) k::add_row(x.data(), patch_b_.data(), n, E);
    emit("patch_bias", -1, x.data(), {E, n});
    k::add(x.data(), pos_.data(), x.data(), n * E);
    emit("pos_embed", -1, x.data(), {E, n});
    if (!pre_w_.empty()) norm(x.data(), x.data(), n, pre_w_, pre_b_);

    const k::AttnParams ap{H, H, D, 1.0f / std::sqrt(float(D)), 0.0f};
    for (int il = 0; il < int(v.n_layer); ++il) {
      const Block& B = blocks_[size_t(il)];
      norm(x.data(), cur.data(), n, B.ln1_w, B.ln1_b);
      linear(pool, B.q, B.q_b, cur.data(), n, q.data(), scratch);
      linear(pool, B.k, B.k_b, cur.data(), n, kb.data(), scratch);
      linear(pool, B.v, B.v_b, cur.data(), n, vb.data(), scratch);
      // Every patch attends to every patch in F32 (no mask, no KV cache).
      const k::KvView kv{TypeId::F32, kb.data(), vb.data(), n, E, E};
      k::attention(pool, q.data(), n, kv, nullptr, ap, attn.data(), scratch);
      emit("kqv_out", il, attn.data(), {E, n});
      linear(pool, B.o, B.o_b, attn.data(), n, cur.data(), scratch);
      emit("attn_out", il, cur.data(), {E, n});
      k::add(cur.data(), x.data(), x.data(), n * E);  // ffn_inp
      norm(x.data(), cur.data(), n, B.ln2_w, B.ln2_b);
      linear(pool, B.up, B.up_b, cur.data(), n, ff.data(), scratch);
      k::gelu(ff.data(), ff.data(), n * F);
      linear(pool, B.down, B.down_b, ff.data(), n, cur.data(), scratch);
      emit("ffn_out", il, cur.data(), {E, n});
      k::add(x.data(), cur.data(), x.data(), n * E);
      emit("layer_out", il, x.data(), {E, n});
    }
    k::layer_norm(x.data(), x.data(), n, E, eps_);
    k::mul_row(x.data(), post_w_.data(), n, E);
    emit("norm_w", -1, x.data(), {E, n});
    k::add_row(x.data(), post_b_.data(), n, E);
    emit("norm_b", -1, x.data(), {E, n});

    // Gemma 3 projector: average n_merge x n_merge patches, RMSNorm, project.
    const int64_t s = v.n_merge, ox = gx / s, oy = gy / s, m = ox * oy;
    std::vector<float> pooled(size_t(m * E), 0.0f);
    for (int64_t y = 0; y < oy; ++y)
      for (int64_t xx = 0; xx < ox; ++xx) {
        float* dst = pooled.data() + (y * ox + xx) * E;
        for (int64_t e = 0; e < E; ++e) {
          float sum = 0.0f;
          for (int64_t ky = 0; ky < s; ++ky)
            for (int64_t kx = 0; kx < s; ++kx) sum += x[size_t(((y * s + ky) * gx + xx * s + kx) * E + e)];
          dst[e] = sum / float(s * s);
        }
      }
    k::rms_norm(pooled.data(), pooled.data(), m, E, eps_);
    k::mul_row(pooled.data(), soft_norm_.data(), m, E);
    std::vector<float> out(size_t(m * v.n_embd_out));
    k::matmul(pool, proj_, pooled.data(), m, out.data(), scratch);
    emit("image_embd", -1, out.data(), {v.n_embd_out, m});
    return out;
  }

 private:
  std::vector<float> vec(const std::string& name, int64_t n) const {
    const TensorInfo& t = file_->get(name);
    if (t.n_elements() != n)
      throw Error(path_ + ": tensor " + name + " has shape " + t.shape_string() +
                  " (" + std::to_string(t.n_elements()) + " values); expected " +
                  std::to_string(n) + " values");
    std::vector<float> out(static_cast<size_t>(n));
    codecs_->get(t.type, name).to_float(t.data.data(), out.data(), size_t(n));
    return out;
  }
  k::Matrix mat(const std::string& name, int64_t n_in, int64_t n_out) const {
    const TensorInfo& t = file_->get(name);
    if (t.ne[0] != n_in || t.ne[1] != n_out || t.ne[2] != 1 || t.ne[3] != 1)
      throw Error(path_ + ": tensor " + name + " has shape " + t.shape_string() +
                  "; expected [" + std::to_string(n_in) + ", " + std::to_string(n_out) + "]");
    return k::Matrix::from(t, *codecs_);
  }
  static std::vector<uint16_t> to_f16(const std::vector<float>& v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = fp32_to_fp16(v[i]);
    return h;
  }
  k::Matrix f16_matrix(const std::string& name, const std::vector<uint16_t>& h, int64_t n_in,
                       int64_t n_out) const {
    k::Matrix w;
    w.name = name;
    w.data = reinterpret_cast<const std::byte*>(h.data());
    w.type = TypeId::F16;
    w.n_in = n_in, w.n_out = n_out;
    w.row_size = size_t(n_in) * 2;
    w.codec = &codecs_->get(TypeId::F16, name);
    w.dot_codec = &codecs_->get(w.codec->dot_type(), name + " (activation type)");
    return w;
  }
  k::Matrix f32_matrix(const std::string& name, const std::vector<float>& d, int64_t n_in,
                       int64_t n_out) const {
    k::Matrix w = f16_matrix(name, {}, n_in, n_out);
    w.data = reinterpret_cast<const std::byte*>(d.data());
    w.type = TypeId::F32;
    w.row_size = size_t(n_in) * 4;
    w.codec = w.dot_codec = &codecs_->get(TypeId::F32, name);
    return w;
  }
  void norm(const float* in, float* out, int64_t n, const std::vector<float>& w,
            const std::vector<float>& b) const {
    k::layer_norm(in, out, n, vhp_.n_embd, eps_);
    k::mul_row(out, w.data(), n, vhp_.n_embd);
    k::add_row(out, b.data(), n, vhp_.n_embd);
  }
  static void linear(ThreadPool& pool, const k::Matrix& w, const std::vector<float>& b,
                     const float* in, int64_t n, float* out, k::Scratch& s) {
    k::matmul(pool, w, in, n, out, s);
    k::add_row(out, b.data(), n, w.n_out);
  }

  // Only used while loading: the matrices point into the caller's mapped file.
  const ModelFile* file_;
  const CodecSet* codecs_;
  std::string path_;
  int threads_ = 0;
  HParams hp_;
  VisionHParams vhp_;
  float eps_ = 1e-6f;
  std::vector<uint16_t> patch_w16_, proj16_;
  std::vector<float> proj32_, patch_b_, pos_, pre_w_, pre_b_, post_w_, post_b_, soft_norm_;
  k::Matrix patch_w_, proj_;
  std::vector<Block> blocks_;
};

class ClipArchitecture : public Architecture {
 public:
  std::unique_ptr<Model> load(const ModelFile& file, const CodecSet& codecs,
                              const RuntimeOptions& opts) const override {
    return std::make_unique<ClipModel>(file, codecs, opts);
  }
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return std::make_unique<ClipArchitecture>(); }

}  // namespace tessel::clip
