// LLaMA as llama.cpp's llm_build_llama builds it, composed from the core
// kernels. Per layer: RMSNorm -> Q/K/V -> RoPE (normal layout) -> attention
// over the KV cache -> attn_output -> residual -> RMSNorm -> SwiGLU FFN ->
// residual; then the final RMSNorm and the output head (token_embd if tied).
// Intermediates reach Outputs::sink under llama.cpp's graph names.
#include "llama.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>

#include "tessel/error.hpp"
#include "tessel/kernels.hpp"
#include "tessel/kv_cache.hpp"

namespace tessel::llama {
namespace {

namespace k = kernels;

struct Layer {
  std::vector<float> attn_norm, ffn_norm;
  k::Matrix wq, wk, wv, wo, gate, up, down;
};

// Norm weights as floats, whatever their stored type.
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

// Per-session state: thread pool, KV cache and activation buffers that only grow.
struct LlamaContext : Context {
  LlamaContext(const HParams& hp, const RuntimeOptions& o, int64_t n_ctx)
      : pool(o.threads), kv(hp.n_layer, n_ctx, hp.n_head_kv * hp.head_dim,
                            hp.n_head_kv * hp.head_dim, o.kv_f16, o.n_seq), flash(o.flash_attn) {}
  void clear() override { kv.clear(); }
  int32_t n_ctx() const override { return int32_t(kv.n_ctx()); }
  int32_t n_past(int32_t seq) const override { return kv.n_past(seq); }
  void remove_seq(int32_t seq) override { kv.remove_seq(seq); }

  ThreadPool pool;
  KvCache kv;
  bool flash;  // llama.cpp's flash-attention numerics
  k::Scratch scratch;
  std::vector<float> x, cur, q, kb, vb, attn, tmp, gate, up, mask, kq, sm;
};

float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

class LlamaModel : public Model {
 public:
  LlamaModel(const ModelFile& f, const CodecSet& codecs, const RuntimeOptions& opts) : opts_(opts) {
    const Metadata& m = f.meta;
    hp_.arch = "llama";
    hp_.n_embd = m.get_int("llama.embedding_length");
    hp_.n_layer = m.get_int("llama.block_count");
    hp_.n_head = m.get_int("llama.attention.head_count");
    hp_.n_head_kv = m.get_int("llama.attention.head_count_kv", hp_.n_head);
    hp_.n_ff = m.get_int("llama.feed_forward_length");
    hp_.n_ctx_train = m.get_int("llama.context_length", 2048);
    if (hp_.n_head <= 0 || hp_.n_head_kv <= 0 || hp_.n_head % hp_.n_head_kv != 0 ||
        hp_.n_embd % hp_.n_head != 0)
      throw Error(f.path.string() + ": llama.attention.head_count " + std::to_string(hp_.n_head) +
                  " / head_count_kv " + std::to_string(hp_.n_head_kv) + " don't divide n_embd " +
                  std::to_string(hp_.n_embd));
    hp_.head_dim = m.get_int("llama.attention.key_length", hp_.n_embd / hp_.n_head);
    hp_.n_embd_out = hp_.n_embd;
    eps_ = float(m.get_float("llama.attention.layer_norm_rms_epsilon", 1e-5));
    rope_.n_dims = m.get_int("llama.rope.dimension_count", hp_.head_dim);
    if (rope_.n_dims <= 0 || rope_.n_dims > hp_.head_dim || rope_.n_dims % 2)
      throw Error(f.path.string() + ": llama.rope.dimension_count " + std::to_string(rope_.n_dims) +
                  " must be even and at most the head size " + std::to_string(hp_.head_dim));
    rope_.freq_base = float(m.get_float("llama.rope.freq_base", 10000.0));
    if (m.get_string("llama.rope.scaling.type", "none") == "linear") {
      const double factor = m.get_float("llama.rope.scaling.factor", 1.0);
      if (factor > 0) rope_.freq_scale = float(1.0 / factor);
    }
    if (const TensorInfo* ff = f.find("rope_freqs.weight")) {
      freq_factors_ = load_vector(f, codecs, ff->name, rope_.n_dims / 2);
      rope_.freq_factors = freq_factors_.data();
    }

    const TensorInfo& te = f.get("token_embd.weight");
    hp_.n_vocab = te.ne[1];
    tok_embd_ = load_matrix(f, codecs, "token_embd.weight", hp_.n_embd, hp_.n_vocab);
    output_norm_ = load_vector(f, codecs, "output_norm.weight", hp_.n_embd);
    const bool tied = f.find("output.weight") == nullptr;
    output_ = load_matrix(f, codecs, tied ? "token_embd.weight" : "output.weight", hp_.n_embd,
                          hp_.n_vocab);
    const int64_t n_q = hp_.n_head * hp_.head_dim, n_kv = hp_.n_head_kv * hp_.head_dim;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const std::string b = "blk." + std::to_string(il) + ".";
      Layer L;
      L.attn_norm = load_vector(f, codecs, b + "attn_norm.weight", hp_.n_embd);
      L.ffn_norm = load_vector(f, codecs, b + "ffn_norm.weight", hp_.n_embd);
      L.wq = load_matrix(f, codecs, b + "attn_q.weight", hp_.n_embd, n_q);
      L.wk = load_matrix(f, codecs, b + "attn_k.weight", hp_.n_embd, n_kv);
      L.wv = load_matrix(f, codecs, b + "attn_v.weight", hp_.n_embd, n_kv);
      L.wo = load_matrix(f, codecs, b + "attn_output.weight", n_q, hp_.n_embd);
      L.gate = load_matrix(f, codecs, b + "ffn_gate.weight", hp_.n_embd, hp_.n_ff);
      L.up = load_matrix(f, codecs, b + "ffn_up.weight", hp_.n_embd, hp_.n_ff);
      L.down = load_matrix(f, codecs, b + "ffn_down.weight", hp_.n_ff, hp_.n_embd);
      layers_.push_back(std::move(L));
    }
  }

  const HParams& hparams() const override { return hp_; }

  std::unique_ptr<Context> new_context(const RuntimeOptions& o) const override {
    int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(hp_.n_ctx_train, 4096);
    return std::make_unique<LlamaContext>(hp_, o, n_ctx);
  }

  void embed_tokens(std::span<const TokenId> ids, float* rows) const override {
    k::get_rows(tok_embd_, ids, rows);
  }

  void forward(const Batch& batch, Context& base, Outputs& out) override {
    auto* ctx = dynamic_cast<LlamaContext*>(&base);
    if (!ctx) throw Error("llama: the context was not made by this model");
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd;
    if (n == 0) throw Error("llama: empty batch");
    if (batch.seq.size() != size_t(n) || batch.output.size() != size_t(n))
      throw Error("llama: batch pos/seq/output sizes differ");
    if (batch.embd.empty() ? batch.tokens.size() != size_t(n) : batch.embd.size() != size_t(n * E))
      throw Error("llama: the batch needs " + std::to_string(n) + " tokens or " +
                  std::to_string(n) + " x " + std::to_string(E) + " embedding values, got " +
                  std::to_string(batch.tokens.size()) + " tokens and " +
                  std::to_string(batch.embd.size()) + " values");
    float* x = grow(ctx->x, size_t(n * E));
    if (batch.embd.empty()) embed_tokens(batch.tokens, x);  // throws on a bad id
    else std::copy(batch.embd.begin(), batch.embd.end(), x);
    const std::vector<int64_t> cells = ctx->kv.allocate(batch.pos, batch.seq);
    try {
      run(batch, *ctx, cells, out);
    } catch (...) {
      ctx->kv.release(cells);
      throw;
    }
  }

 private:
  void run(const Batch& batch, LlamaContext& c, std::span<const int64_t> cells, Outputs& out) {
    TensorSink* sink = out.sink;
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd, H = hp_.n_head, HK = hp_.n_head_kv;
    const int64_t D = hp_.head_dim, F = hp_.n_ff, NQ = H * D, NK = HK * D;
    auto emit = [&](const std::string& name, int il, const float* d,
                    std::initializer_list<int64_t> ne) {
      if (sink) sink->on_tensor(il >= 0 ? name + "-" + std::to_string(il) : name, d, ne);
    };
    // llama.cpp attends over the used cells padded to 256; dumps keep that shape.
    int64_t n_kv = c.kv.extent();
    if (sink) n_kv = std::min(c.kv.n_ctx(), (n_kv + 255) / 256 * 256);
    float* mask = grow(c.mask, size_t(n * n_kv));
    k::MaskParams mp;
    mp.causal = batch.causal;
    k::build_mask(c.kv.cell_pos(), c.kv.cell_seq(), batch.pos, batch.seq, n_kv, mp, mask);

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
    k::AttnDebug dbg;
    if (sink && !c.flash) {
      dbg.kq = grow(c.kq, size_t(H * n * n_kv));
      dbg.kq_soft_max = grow(c.sm, size_t(H * n * n_kv));
    }
    k::AttnParams ap{H, HK, D, 1.0f / std::sqrt(float(D)), 0.0f, c.flash};
    emit("embd", -1, x, {E, n});

    int64_t m = n;  // rows still computed (the last layer keeps only output rows)
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      k::rms_norm(x, cur, m, E, eps_);
      emit("norm", il, cur, {E, m});
      k::mul_row(cur, L.attn_norm.data(), m, E);
      emit("attn_norm", il, cur, {E, m});
      // Q, V, K in the order llama.cpp's scheduler evaluates them.
      k::matmul(c.pool, L.wq, cur, m, q, c.scratch);
      emit("Qcur", il, q, {NQ, m});
      k::rope(q, m, H, D, batch.pos.data(), rope_);
      emit("Qcur", il, q, {D, H, m});
      k::matmul(c.pool, L.wv, cur, m, vb, c.scratch);
      emit("Vcur", il, vb, {NK, m});
      k::matmul(c.pool, L.wk, cur, m, kb, c.scratch);
      emit("Kcur", il, kb, {NK, m});
      k::rope(kb, m, HK, D, batch.pos.data(), rope_);
      emit("Kcur", il, kb, {D, HK, m});
      c.kv.store(il, cells.first(size_t(m)), kb, vb);
      k::attention(c.pool, q, m, c.kv.view(il, n_kv), mask, ap, attn, c.scratch,
                   dbg.kq ? &dbg : nullptr);
      if (sink) {
        if (dbg.kq) emit("kq", il, dbg.kq, {n_kv, m, H});
        if (dbg.kq) emit("kq_soft_max", il, dbg.kq_soft_max, {n_kv, m, H});
        k::heads_first(attn, m, H, D, tmp);
        emit("kqv", il, tmp, {D, m, H});
        emit("kqv_out", il, attn, {NQ, m});
      }
      k::matmul(c.pool, L.wo, attn, m, cur, c.scratch);
      emit("attn_out", il, cur, {E, m});
      if (il == hp_.n_layer - 1 && int64_t(rows.size()) < m) {
        // As llama.cpp's inp_out_ids: the last FFN only runs on output rows.
        for (size_t i = 0; i < rows.size(); ++i) {
          std::copy_n(cur + rows[i] * E, E, cur + i * E);
          std::copy_n(x + rows[i] * E, E, x + i * E);
        }
        m = int64_t(rows.size());
      }
      k::add(cur, x, x, m * E);  // x = ffn_inp
      emit("ffn_inp", il, x, {E, m});
      k::rms_norm(x, cur, m, E, eps_);
      emit("norm", il, cur, {E, m});
      k::mul_row(cur, L.ffn_norm.data(), m, E);
      emit("ffn_norm", il, cur, {E, m});
      k::matmul(c.pool, L.gate, cur, m, gate, c.scratch);
      emit("ffn_gate", il, gate, {F, m});
      k::matmul(c.pool, L.up, cur, m, up, c.scratch);
      emit("ffn_up", il, up, {F, m});
      k::swiglu(gate, up, gate, m * F);
      emit("ffn_swiglu", il, gate, {F, m});
      k::matmul(c.pool, L.down, gate, m, cur, c.scratch);
      emit("ffn_out", il, cur, {E, m});
      k::add(cur, x, x, m * E);  // x = l_out
      emit("l_out", il, x, {E, m});
    }
    if (rows.empty()) { out.logits.clear(); out.hidden.clear(); return; }
    if (m != int64_t(rows.size())) {  // no pruning happened (zero layers): pick rows now
      for (size_t i = 0; i < rows.size(); ++i) std::copy_n(x + rows[i] * E, E, x + i * E);
      m = int64_t(rows.size());
    }
    k::rms_norm(x, cur, m, E, eps_);
    emit("norm", -1, cur, {E, m});
    k::mul_row(cur, output_norm_.data(), m, E);
    emit("result_norm", -1, cur, {E, m});
    if (out.want_hidden) out.hidden.assign(cur, cur + m * E);
    if (out.want_logits || sink) {
      out.logits.resize(size_t(m * hp_.n_vocab));
      k::matmul(c.pool, output_, cur, m, out.logits.data(), c.scratch);
      emit("result_output", -1, out.logits.data(), {hp_.n_vocab, m});
    }
  }

  RuntimeOptions opts_;
  HParams hp_;
  float eps_ = 1e-5f;
  k::RopeParams rope_;
  std::vector<float> freq_factors_, output_norm_;
  k::Matrix tok_embd_, output_;
  std::vector<Layer> layers_;
};

class LlamaArchitecture : public Architecture {
 public:
  std::unique_ptr<Model> load(const ModelFile& file, const CodecSet& codecs,
                              const RuntimeOptions& opts) const override {
    return std::make_unique<LlamaModel>(file, codecs, opts);
  }
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return std::make_unique<LlamaArchitecture>(); }

}  // namespace tessel::llama
