// EmbeddingGemma as llama.cpp's llm_build_gemma_embedding builds it, composed
// from the core kernels. An encoder: no KV cache, every batch holds whole
// sequences and attends both ways within each one (several texts can share a
// batch; the mask keeps them apart). Per layer: RMSNorm -> Q/K/V -> per-head
// RMSNorm -> NeoX RoPE -> Q * 1/sqrt(head_dim) -> attention (symmetric
// sliding window on SWA layers) -> attn_output -> RMSNorm(post_attention_norm)
// -> residual -> RMSNorm(ffn_norm) -> GeGLU FFN -> RMSNorm(post_ffw_norm) ->
// residual; then the final RMSNorm. dense_2 / dense_3 run after pooling
// (pooled_head). Attention runs in F32 as ggml's no-cache path does.
#include "gemma_embedding.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

#include "tessel/embedding.hpp"
#include "tessel/error.hpp"
#include "tessel/kernels.hpp"

namespace tessel::gemma_embedding {
namespace {

namespace k = kernels;

struct Layer {
  std::vector<float> attn_norm, q_norm, k_norm, post_attn_norm, ffn_norm, post_ffw_norm;
  k::Matrix wq, wk, wv, wo, gate, up, down;
  bool swa = false;
  k::RopeParams rope;
};

struct GemmaContext : embed::EncoderContext {
  using EncoderContext::EncoderContext;
  std::vector<float> x, cur, q, kb, vb, attn, sa, gate, up, mask;
};

class GemmaEmbeddingModel : public Model {
 public:
  GemmaEmbeddingModel(const ModelFile& f, const CodecSet& codecs, const RuntimeOptions& opts)
      : opts_(opts) {
    const Metadata& m = f.meta;
    const std::string a = "gemma-embedding.";
    hp_.arch = "gemma-embedding";
    hp_.causal = false;
    hp_.has_logits = false;
    hp_.n_embd = m.get_int(a + "embedding_length");
    hp_.n_layer = m.get_int(a + "block_count");
    hp_.n_head = m.get_int(a + "attention.head_count");
    hp_.n_head_kv = m.get_int(a + "attention.head_count_kv", hp_.n_head);
    hp_.n_ff = m.get_int(a + "feed_forward_length");
    hp_.n_ctx_train = m.get_int(a + "context_length", 2048);
    embed::check_heads(f, a, hp_);
    hp_.head_dim = m.get_int(a + "attention.key_length", hp_.n_embd / hp_.n_head);
    hp_.pooling = embed::pooling_from_metadata(m, a + "pooling_type");
    eps_ = float(m.get_float(a + "attention.layer_norm_rms_epsilon", 1e-6));
    // Symmetric sliding window; layer il slides iff il % pattern < pattern - 1
    // (llama.cpp's set_swa_pattern; EmbeddingGemma files carry no pattern: 6).
    window_ = int32_t(m.get_int(a + "attention.sliding_window", 0));
    const int64_t pattern = m.get_int(a + "attention.sliding_window_pattern", 6);
    const float base = float(m.get_float(a + "rope.freq_base", 10000.0));
    const float base_swa = float(m.get_float(a + "rope.freq_base_swa", 10000.0));
    const int64_t n_rot = m.get_int(a + "rope.dimension_count", hp_.head_dim);

    const TensorInfo& te = f.get("token_embd.weight");
    hp_.n_vocab = te.ne[1];
    tok_embd_ = embed::load_matrix(f, codecs, "token_embd.weight", hp_.n_embd, hp_.n_vocab);
    output_norm_ = embed::load_vector(f, codecs, "output_norm.weight", hp_.n_embd);
    hp_.n_embd_out = hp_.n_embd;
    if (const TensorInfo* d2 = f.find("dense_2.weight")) {
      dense_2_ = embed::load_matrix(f, codecs, d2->name, hp_.n_embd, d2->ne[1]);
      hp_.n_embd_out = dense_2_.n_out;
      has_dense_2_ = true;
    }
    if (const TensorInfo* d3 = f.find("dense_3.weight")) {
      dense_3_ = embed::load_matrix(f, codecs, d3->name, hp_.n_embd_out, d3->ne[1]);
      hp_.n_embd_out = dense_3_.n_out;
      has_dense_3_ = true;
    }
    const int64_t D = hp_.head_dim, NQ = hp_.n_head * D, NK = hp_.n_head_kv * D;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const std::string b = "blk." + std::to_string(il) + ".";
      Layer L;
      L.attn_norm = embed::load_vector(f, codecs, b + "attn_norm.weight", hp_.n_embd);
      L.q_norm = embed::load_vector(f, codecs, b + "attn_q_norm.weight", D);
      L.k_norm = embed::load_vector(f, codecs, b + "attn_k_norm.weight", D);
      L.post_attn_norm = embed::load_vector(f, codecs, b + "post_attention_norm.weight", hp_.n_embd);
      L.ffn_norm = embed::load_vector(f, codecs, b + "ffn_norm.weight", hp_.n_embd);
      L.post_ffw_norm = embed::load_vector(f, codecs, b + "post_ffw_norm.weight", hp_.n_embd);
      L.wq = embed::load_matrix(f, codecs, b + "attn_q.weight", hp_.n_embd, NQ);
      L.wk = embed::load_matrix(f, codecs, b + "attn_k.weight", hp_.n_embd, NK);
      L.wv = embed::load_matrix(f, codecs, b + "attn_v.weight", hp_.n_embd, NK);
      L.wo = embed::load_matrix(f, codecs, b + "attn_output.weight", NQ, hp_.n_embd);
      L.gate = embed::load_matrix(f, codecs, b + "ffn_gate.weight", hp_.n_embd, hp_.n_ff);
      L.up = embed::load_matrix(f, codecs, b + "ffn_up.weight", hp_.n_embd, hp_.n_ff);
      L.down = embed::load_matrix(f, codecs, b + "ffn_down.weight", hp_.n_ff, hp_.n_embd);
      L.swa = window_ > 0 && pattern > 0 && il % pattern < pattern - 1;
      L.rope.n_dims = n_rot;
      L.rope.neox = true;
      L.rope.freq_base = L.swa ? base_swa : base;
      layers_.push_back(std::move(L));
    }
  }

  const HParams& hparams() const override { return hp_; }

  std::unique_ptr<Context> new_context(const RuntimeOptions& o) const override {
    return std::make_unique<GemmaContext>(o, o.n_ctx > 0 ? o.n_ctx : hp_.n_ctx_train);
  }

  void embed_tokens(std::span<const TokenId> ids, float* rows) const override {
    k::get_rows(tok_embd_, ids, rows);
  }

  void forward(const Batch& batch, Context& base, Outputs& out) override {
    auto* c = dynamic_cast<GemmaContext*>(&base);
    if (!c) throw Error("gemma-embedding: the context was not made by this model");
    embed::check_batch("gemma-embedding", batch, hp_.n_embd, c->n_ctx());
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd;
    float* x = embed::grow(c->x, size_t(n * E));
    if (batch.embd.empty()) {
      // Token input is scaled by sqrt(n_embd); raw rows (batch.embd) are not.
      embed_tokens(batch.tokens, x);
      k::scale(x, n * E, std::sqrt(float(E)));
    } else {
      std::copy(batch.embd.begin(), batch.embd.end(), x);
    }
    run(batch, *c, out);
  }

  // dense_2 then dense_3 (Sentence Transformers' Dense modules), no bias.
  void pooled_head(std::span<const float> in, size_t n_rows, std::vector<float>& out) const override {
    if (!has_dense_2_ && !has_dense_3_) { out.assign(in.begin(), in.end()); return; }
    std::lock_guard<std::mutex> lock(head_mu_);
    if (!head_pool_) head_pool_ = std::make_unique<ThreadPool>(opts_.threads);
    std::vector<float> mid(in.begin(), in.end());
    if (has_dense_2_) {
      out.resize(n_rows * size_t(dense_2_.n_out));
      k::matmul(*head_pool_, dense_2_, mid.data(), int64_t(n_rows), out.data(), head_scratch_);
      mid.swap(out);
    }
    if (has_dense_3_) {
      out.resize(n_rows * size_t(dense_3_.n_out));
      k::matmul(*head_pool_, dense_3_, mid.data(), int64_t(n_rows), out.data(), head_scratch_);
      mid.swap(out);
    }
    out.swap(mid);
  }

 private:
  void run(const Batch& batch, GemmaContext& c, Outputs& out) {
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd, H = hp_.n_head, HK = hp_.n_head_kv;
    const int64_t D = hp_.head_dim, F = hp_.n_ff, NQ = H * D, NK = HK * D;
    std::vector<int32_t>& rows = out.rows;
    rows.clear();
    for (int64_t i = 0; i < n; ++i)
      if (batch.output[size_t(i)]) rows.push_back(int32_t(i));

    float* x = c.x.data();
    float* cur = embed::grow(c.cur, size_t(n * std::max(E, NQ)));
    float* q = embed::grow(c.q, size_t(n * NQ));
    float* kb = embed::grow(c.kb, size_t(n * NK));
    float* vb = embed::grow(c.vb, size_t(n * NK));
    float* attn = embed::grow(c.attn, size_t(n * NQ));
    float* sa = embed::grow(c.sa, size_t(n * E));
    float* gate = embed::grow(c.gate, size_t(n * F));
    float* up = embed::grow(c.up, size_t(n * F));
    const k::AttnParams ap{H, HK, D, 1.0f, 0.0f};
    const float q_scale = 1.0f / std::sqrt(float(D));
    ThreadPool& pool = c.pool;

    int64_t m = n;  // rows still computed (the last layer keeps only output rows)
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      k::rms_norm(x, cur, m, E, eps_);
      k::mul_row(cur, L.attn_norm.data(), m, E);
      k::matmul(pool, L.wq, cur, m, q, c.scratch);
      k::matmul(pool, L.wk, cur, m, kb, c.scratch);
      k::matmul(pool, L.wv, cur, m, vb, c.scratch);
      k::rms_norm(q, q, m * H, D, eps_);
      k::mul_row(q, L.q_norm.data(), m * H, D);
      k::rope(q, m, H, D, batch.pos.data(), L.rope);
      k::rms_norm(kb, kb, m * HK, D, eps_);
      k::mul_row(kb, L.k_norm.data(), m * HK, D);
      k::rope(kb, m, HK, D, batch.pos.data(), L.rope);
      k::scale(q, m * NQ, q_scale);
      // No cache: each sequence's own rows are its keys (F32, as ggml's no-cache path).
      k::MaskParams mp;
      if (L.swa) {
        mp.swa = k::MaskParams::Swa::symmetric;
        mp.window = window_;
      }
      embed::encoder_attention(pool, batch, q, kb, vb, mp, ap, attn, c.scratch, c.mask);
      k::matmul(pool, L.wo, attn, m, cur, c.scratch);
      if (il == hp_.n_layer - 1 && int64_t(rows.size()) < m) {
        // As llama.cpp's inp_out_ids: only output rows go on after the last attention.
        for (size_t i = 0; i < rows.size(); ++i) {
          std::copy_n(cur + rows[i] * E, E, cur + i * E);
          std::copy_n(x + rows[i] * E, E, x + i * E);
        }
        m = int64_t(rows.size());
      }
      k::rms_norm(cur, cur, m, E, eps_);
      k::mul_row(cur, L.post_attn_norm.data(), m, E);
      k::add(cur, x, sa, m * E);  // sa_out
      k::rms_norm(sa, cur, m, E, eps_);
      k::mul_row(cur, L.ffn_norm.data(), m, E);
      k::matmul(pool, L.gate, cur, m, gate, c.scratch);
      k::matmul(pool, L.up, cur, m, up, c.scratch);
      k::geglu(gate, up, gate, m * F);
      k::matmul(pool, L.down, gate, m, cur, c.scratch);
      k::rms_norm(cur, cur, m, E, eps_);
      k::mul_row(cur, L.post_ffw_norm.data(), m, E);
      k::add(cur, sa, x, m * E);  // l_out
    }
    if (m != int64_t(rows.size())) {  // zero layers: pick the output rows now
      for (size_t i = 0; i < rows.size(); ++i) std::copy_n(x + rows[i] * E, E, x + i * E);
      m = int64_t(rows.size());
    }
    k::rms_norm(x, cur, m, E, eps_);
    k::mul_row(cur, output_norm_.data(), m, E);
    out.hidden.assign(cur, cur + m * E);  // result_norm: what pooling reads
    out.logits.clear();
  }

  RuntimeOptions opts_;
  HParams hp_;
  float eps_ = 1e-6f;
  int32_t window_ = 0;
  std::vector<float> output_norm_;
  k::Matrix tok_embd_, dense_2_, dense_3_;
  bool has_dense_2_ = false, has_dense_3_ = false;
  std::vector<Layer> layers_;
  mutable std::mutex head_mu_;
  mutable std::unique_ptr<ThreadPool> head_pool_;
  mutable k::Scratch head_scratch_;
};

class GemmaEmbeddingArchitecture : public Architecture {
 public:
  std::unique_ptr<Model> load(const ModelFile& file, const CodecSet& codecs,
                              const RuntimeOptions& opts) const override {
    return std::make_unique<GemmaEmbeddingModel>(file, codecs, opts);
  }
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() {
  return std::make_unique<GemmaEmbeddingArchitecture>();
}

}  // namespace tessel::gemma_embedding
