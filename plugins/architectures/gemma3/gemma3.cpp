// Gemma 3's text model as llama.cpp's llm_build_gemma3 builds it, from the
// core kernels. Per layer: RMSNorm -> Q/K/V -> per-head RMSNorm (q/k norm) ->
// NeoX RoPE (sliding layers with freq_base_swa) -> Q * 1/sqrt(head_dim) ->
// attention (sliding layers see a causal window) -> attn_output -> post norm
// -> + residual -> RMSNorm -> GeGLU FFN -> post norm -> + residual. Token input
// is scaled by sqrt(n_embd); raw embedding rows (batch.embd, image rows) are
// not, as llama.cpp does. Output head tied to token_embd unless output.weight.
#include "gemma3.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "tessel/error.hpp"
#include "tessel/kernels.hpp"
#include "tessel/kv_cache.hpp"

namespace tessel::gemma3 {
namespace {

namespace k = kernels;
struct Layer {
  std::vector<float> attn_norm, q_norm, k_norm, post_attn_norm, ffn_norm, post_ffw_norm;
  k::Matrix wq, wk, wv, wo, gate, up, down;
  bool swa = false;
};

std::vector<float> load_vector(const ModelFile& f, const CodecSet& codecs, const std::string& name,
                               int64_t n) {
  const TensorInfo& t = f.get(name);
  if (t.n_elements() != n)
    throw Error(f.path.string() + ": tensor " + name + " has shape " + t.shape_string() +
                "; expected [" + std::to_string(n) + "]");
  std::vector<float> v(static_cast<size_t>(n));
  codecs.get(t.type, name).to_float(t.data.data(), v.data(), size_t(n));
  return v;
}

k::Matrix load_matrix(const ModelFile& f, const CodecSet& codecs, const std::string& name,
                      int64_t n_in, int64_t n_out) {
  const TensorInfo& t = f.get(name);
  if (t.ne[0] != n_in || t.ne[1] != n_out || t.ne[2] != 1 || t.ne[3] != 1)
    throw Error(f.path.string() + ": tensor " + name + " has shape " + t.shape_string() +
                "; expected [" + std::to_string(n_in) + ", " + std::to_string(n_out) + "]");
  return k::Matrix::from(t, codecs);
}

struct GemmaContext : Context {
  GemmaContext(const HParams& hp, const RuntimeOptions& o, int64_t n_ctx)
      : pool(o.threads), kv(hp.n_layer, n_ctx, hp.n_head_kv * hp.head_dim,
                            hp.n_head_kv * hp.head_dim, o.kv_f16, o.n_seq) {}
  void clear() override { kv.clear(); }
  int32_t n_ctx() const override { return int32_t(kv.n_ctx()); }
  int32_t n_past(int32_t seq) const override { return kv.n_past(seq); }
  void remove_seq(int32_t seq) override { kv.remove_seq(seq); }
  ThreadPool pool;
  KvCache kv;
  k::Scratch scratch;
  std::vector<float> x, cur, q, kb, vb, attn, tmp, gate, up, mask, mask_swa;
};

float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

class Gemma3Model : public Model {
 public:
  Gemma3Model(const ModelFile& f, const CodecSet& codecs) {
    const Metadata& m = f.meta;
    hp_.arch = "gemma3";
    hp_.n_embd = m.get_int("gemma3.embedding_length");
    hp_.n_layer = m.get_int("gemma3.block_count");
    hp_.n_head = m.get_int("gemma3.attention.head_count");
    hp_.n_head_kv = m.get_int("gemma3.attention.head_count_kv", hp_.n_head);
    hp_.n_ff = m.get_int("gemma3.feed_forward_length");
    hp_.n_ctx_train = m.get_int("gemma3.context_length", 8192);
    if (hp_.n_head <= 0 || hp_.n_head_kv <= 0 || hp_.n_head % hp_.n_head_kv != 0)
      throw Error(f.path.string() + ": gemma3.attention.head_count " + std::to_string(hp_.n_head) +
                  " is not a multiple of head_count_kv " + std::to_string(hp_.n_head_kv));
    hp_.head_dim = m.get_int("gemma3.attention.key_length", hp_.n_embd / hp_.n_head);
    hp_.n_embd_out = hp_.n_embd;
    eps_ = float(m.get_float("gemma3.attention.layer_norm_rms_epsilon", 1e-6));
    // llama.cpp: window from the file; pattern key (default 6): layer il
    // slides iff il % pattern < pattern - 1. No window -> every layer global.
    window_ = int32_t(m.get_int("gemma3.attention.sliding_window", 0));
    const int64_t pattern = m.get_int("gemma3.attention.sliding_window_pattern", 6);
    rope_.n_dims = m.get_int("gemma3.rope.dimension_count", hp_.head_dim);
    rope_.neox = true;
    rope_.freq_base = float(m.get_float("gemma3.rope.freq_base", 1000000.0));
    if (m.get_string("gemma3.rope.scaling.type", "none") == "linear") {
      const double factor = m.get_float("gemma3.rope.scaling.factor", 1.0);
      if (factor > 0) rope_.freq_scale = float(1.0 / factor);
    }
    rope_swa_ = rope_;
    rope_swa_.freq_base = float(m.get_float("gemma3.rope.freq_base_swa", 10000.0));
    rope_swa_.freq_scale = 1.0f;
    // Only llama.cpp's non-sliding gemma3 graph caps the logits.
    if (window_ <= 0) softcap_ = float(m.get_float("gemma3.final_logit_softcapping", 0.0));

    const TensorInfo& te = f.get("token_embd.weight");
    hp_.n_vocab = te.ne[1];
    tok_embd_ = load_matrix(f, codecs, "token_embd.weight", hp_.n_embd, hp_.n_vocab);
    output_norm_ = load_vector(f, codecs, "output_norm.weight", hp_.n_embd);
    const bool tied = f.find("output.weight") == nullptr;
    output_ = load_matrix(f, codecs, tied ? "token_embd.weight" : "output.weight", hp_.n_embd,
                          hp_.n_vocab);
    const int64_t E = hp_.n_embd, D = hp_.head_dim, NQ = hp_.n_head * D, NK = hp_.n_head_kv * D;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const std::string b = "blk." + std::to_string(il) + ".";
      Layer L;
      L.attn_norm = load_vector(f, codecs, b + "attn_norm.weight", E);
      L.q_norm = load_vector(f, codecs, b + "attn_q_norm.weight", D);
      L.k_norm = load_vector(f, codecs, b + "attn_k_norm.weight", D);
      L.post_attn_norm = load_vector(f, codecs, b + "post_attention_norm.weight", E);
      L.ffn_norm = load_vector(f, codecs, b + "ffn_norm.weight", E);
      L.post_ffw_norm = load_vector(f, codecs, b + "post_ffw_norm.weight", E);
      L.wq = load_matrix(f, codecs, b + "attn_q.weight", E, NQ);
      L.wk = load_matrix(f, codecs, b + "attn_k.weight", E, NK);
      L.wv = load_matrix(f, codecs, b + "attn_v.weight", E, NK);
      L.wo = load_matrix(f, codecs, b + "attn_output.weight", NQ, E);
      L.gate = load_matrix(f, codecs, b + "ffn_gate.weight", E, hp_.n_ff);
      L.up = load_matrix(f, codecs, b + "ffn_up.weight", E, hp_.n_ff);
      L.down = load_matrix(f, codecs, b + "ffn_down.weight", hp_.n_ff, E);
      L.swa = window_ > 0 && pattern > 0 && il % pattern < pattern - 1;
      layers_.push_back(std::move(L));
    }
  }

  const HParams& hparams() const override { return hp_; }

  std::unique_ptr<Context> new_context(const RuntimeOptions& o) const override {
    int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(hp_.n_ctx_train, 4096);
    return std::make_unique<GemmaContext>(hp_, o, n_ctx);
  }

  void embed_tokens(std::span<const TokenId> ids, float* rows) const override {
    k::get_rows(tok_embd_, ids, rows);
  }

  void forward(const Batch& batch, Context& base, Outputs& out) override {
    auto* ctx = dynamic_cast<GemmaContext*>(&base);
    if (!ctx) throw Error("gemma3: the context was not made by this model");
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd;
    if (n == 0) throw Error("gemma3: empty batch");
    if (batch.seq.size() != size_t(n) || batch.output.size() != size_t(n))
      throw Error("gemma3: batch pos/seq/output sizes differ");
    if (batch.embd.empty() ? batch.tokens.size() != size_t(n) : batch.embd.size() != size_t(n * E))
      throw Error("gemma3: the batch needs " + std::to_string(n) + " tokens or " +
                  std::to_string(n) + " x " + std::to_string(E) + " embedding values, got " +
                  std::to_string(batch.tokens.size()) + " tokens and " +
                  std::to_string(batch.embd.size()) + " values");
    float* x = grow(ctx->x, size_t(n * E));
    if (batch.embd.empty()) {
      embed_tokens(batch.tokens, x);  // throws on a bad id
      if (out.sink) out.sink->on_tensor("embd", x, std::initializer_list<int64_t>{E, n});
      // Only token rows are scaled ("do not normalize raw embeddings input").
      k::scale(x, n * E, std::sqrt(float(E)));
      if (out.sink) out.sink->on_tensor("inp_scaled", x, std::initializer_list<int64_t>{E, n});
    } else {
      std::copy(batch.embd.begin(), batch.embd.end(), x);
    }
    const std::vector<int64_t> cells = ctx->kv.allocate(batch.pos, batch.seq);
    try {
      run(batch, *ctx, cells, out);
    } catch (...) {
      ctx->kv.release(cells);  // a failed pass leaves the cache as it was
      throw;
    }
  }

 private:
  void run(const Batch& batch, GemmaContext& c, std::span<const int64_t> cells, Outputs& out) {
    TensorSink* sink = out.sink;
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd, H = hp_.n_head, HK = hp_.n_head_kv;
    const int64_t D = hp_.head_dim, F = hp_.n_ff, NQ = H * D, NK = HK * D;
    auto emit = [&](const std::string& name, int il, const float* d,
                    std::initializer_list<int64_t> ne) {
      if (sink) sink->on_tensor(il >= 0 ? name + "-" + std::to_string(il) : name, d, ne);
    };
    const int64_t n_kv = c.kv.extent();
    k::MaskParams mp;
    mp.causal = batch.causal;
    float* mask = grow(c.mask, size_t(n * n_kv));
    k::build_mask(c.kv.cell_pos(), c.kv.cell_seq(), batch.pos, batch.seq, n_kv, mp, mask);
    mp.swa = k::MaskParams::Swa::standard;
    mp.window = window_;
    float* mask_swa = grow(c.mask_swa, size_t(n * n_kv));
    if (window_ > 0) k::build_mask(c.kv.cell_pos(), c.kv.cell_seq(), batch.pos, batch.seq, n_kv, mp, mask_swa);

    std::vector<int32_t>& rows = out.rows;
    rows.clear();
    for (int64_t i = 0; i < n; ++i)
      if (batch.output[size_t(i)]) rows.push_back(int32_t(i));
    float* x = c.x.data();
    float* cur = grow(c.cur, size_t(n * std::max(E, NQ)));
    float* q = grow(c.q, size_t(n * NQ));
    float* kb = grow(c.kb, size_t(n * NK));
    float* vb = grow(c.vb, size_t(n * NK));
    float* attn = grow(c.attn, size_t(n * NQ));
    float* tmp = grow(c.tmp, size_t(n * std::max(E, NQ)));
    float* gate = grow(c.gate, size_t(n * F));
    float* up = grow(c.up, size_t(n * F));
    // Q is pre-scaled by 1/sqrt(head_dim) (f_attention_scale), kq_scale is 1.
    const k::AttnParams ap{H, HK, D, 1.0f, 0.0f};
    const float q_scale = 1.0f / std::sqrt(float(D));

    int64_t m = n;  // rows still computed (the last layer keeps only output rows)
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      const k::RopeParams& rope = L.swa ? rope_swa_ : rope_;
      k::rms_norm(x, cur, m, E, eps_);
      k::mul_row(cur, L.attn_norm.data(), m, E);
      emit("attn_norm", il, cur, {E, m});
      k::matmul(c.pool, L.wq, cur, m, q, c.scratch);
      emit("Qcur", il, q, {NQ, m});
      k::matmul(c.pool, L.wk, cur, m, kb, c.scratch);
      emit("Kcur", il, kb, {NK, m});
      k::matmul(c.pool, L.wv, cur, m, vb, c.scratch);
      emit("Vcur", il, vb, {NK, m});
      k::rms_norm(q, q, m * H, D, eps_);
      k::mul_row(q, L.q_norm.data(), m * H, D);
      emit("Qcur_normed", il, q, {D, H, m});
      k::rope(q, m, H, D, batch.pos.data(), rope);
      k::rms_norm(kb, kb, m * HK, D, eps_);
      k::mul_row(kb, L.k_norm.data(), m * HK, D);
      emit("Kcur_normed", il, kb, {D, HK, m});
      k::rope(kb, m, HK, D, batch.pos.data(), rope);
      k::scale(q, m * NQ, q_scale);
      c.kv.store(il, cells.first(size_t(m)), kb, vb);
      k::attention(c.pool, q, m, c.kv.view(il, n_kv), L.swa ? mask_swa : mask, ap, attn,
                   c.scratch);
      emit("kqv_out", il, attn, {NQ, m});
      k::matmul(c.pool, L.wo, attn, m, cur, c.scratch);
      if (il == hp_.n_layer - 1 && int64_t(rows.size()) < m) {
        // As llama.cpp's inp_out_ids: the rest of the last layer runs on output rows only.
        for (size_t i = 0; i < rows.size(); ++i) {
          std::copy_n(cur + rows[i] * E, E, cur + i * E);
          std::copy_n(x + rows[i] * E, E, x + i * E);
        }
        m = int64_t(rows.size());
      }
      k::rms_norm(cur, cur, m, E, eps_);
      k::mul_row(cur, L.post_attn_norm.data(), m, E);
      emit("attn_post_norm", il, cur, {E, m});
      k::add(cur, x, x, m * E);  // x = sa_out
      emit("sa_out", il, x, {E, m});
      k::rms_norm(x, cur, m, E, eps_);
      k::mul_row(cur, L.ffn_norm.data(), m, E);
      emit("ffn_norm", il, cur, {E, m});
      k::matmul(c.pool, L.gate, cur, m, gate, c.scratch);
      k::matmul(c.pool, L.up, cur, m, up, c.scratch);
      k::geglu(gate, up, gate, m * F);
      emit("ffn_geglu", il, gate, {F, m});
      k::matmul(c.pool, L.down, gate, m, cur, c.scratch);
      emit("ffn_out", il, cur, {E, m});
      k::rms_norm(cur, tmp, m, E, eps_);
      k::mul_row(tmp, L.post_ffw_norm.data(), m, E);
      emit("ffn_post_norm", il, tmp, {E, m});
      k::add(tmp, x, x, m * E);  // x = l_out
      emit("l_out", il, x, {E, m});
    }
    if (rows.empty()) { out.logits.clear(); out.hidden.clear(); return; }
    for (size_t i = 0; m != int64_t(rows.size()) && i < rows.size(); ++i)  // zero layers
      std::copy_n(x + rows[i] * E, E, x + i * E);
    m = int64_t(rows.size());
    k::rms_norm(x, cur, m, E, eps_);
    k::mul_row(cur, output_norm_.data(), m, E);
    emit("result_norm", -1, cur, {E, m});
    if (out.want_hidden) out.hidden.assign(cur, cur + m * E);
    if (out.want_logits || sink) {
      out.logits.resize(size_t(m * hp_.n_vocab));
      k::matmul(c.pool, output_, cur, m, out.logits.data(), c.scratch);
      if (softcap_ > 0.0f)
        for (float& v : out.logits) v = std::tanh(v / softcap_) * softcap_;
      emit("result_output", -1, out.logits.data(), {hp_.n_vocab, m});
    }
  }

  HParams hp_;
  float eps_ = 1e-6f, softcap_ = 0.0f;
  int32_t window_ = 0;  // sliding window (0: every layer global)
  k::RopeParams rope_, rope_swa_;
  std::vector<float> output_norm_;
  k::Matrix tok_embd_, output_;
  std::vector<Layer> layers_;
};

class Gemma3Architecture : public Architecture {
 public:
  std::unique_ptr<Model> load(const ModelFile& file, const CodecSet& codecs,
                              const RuntimeOptions&) const override {
    return std::make_unique<Gemma3Model>(file, codecs);
  }
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return std::make_unique<Gemma3Architecture>(); }

}  // namespace tessel::gemma3
