// BERT (BGE, MiniLM...) as llama.cpp's llm_build_bert builds it for
// general.architecture = bert, composed from the core kernels. An encoder:
// no KV cache, bidirectional attention within each sequence of the batch.
// Input: token_embd + token_types row 0 (all tokens are "sentence A") +
// position_embd[pos], then LayerNorm. Per layer (post-norm): Q/K/V with bias
// -> attention (scale 1/sqrt(head_dim)) -> attn_output + bias -> residual ->
// LayerNorm(attn_output_norm) -> ffn_up + bias -> GELU -> ffn_down + bias ->
// residual -> LayerNorm(layer_output_norm). No final norm. For rank pooling
// (rerankers) pooled_head applies the classifier head: cls -> tanh -> cls.output.
#include "bert.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

#include "tessel/embedding.hpp"
#include "tessel/error.hpp"
#include "tessel/kernels.hpp"

namespace tessel::bert {
namespace {

namespace k = kernels;

struct Norm {
  std::vector<float> w, b;
};

struct Layer {
  k::Matrix wq, wk, wv, wo, up, down;
  std::vector<float> bq, bk, bv, bo, b_up, b_down;
  Norm attn_out_norm, layer_out_norm;
};

struct BertContext : embed::EncoderContext {
  using EncoderContext::EncoderContext;
  std::vector<float> x, cur, q, kb, vb, attn, ffn;
  std::vector<float> mask;
};

class BertModel : public Model {
 public:
  BertModel(const ModelFile& f, const CodecSet& codecs, const RuntimeOptions& opts) : opts_(opts) {
    const Metadata& m = f.meta;
    const std::string a = "bert.";
    hp_.arch = "bert";
    hp_.causal = false;
    hp_.has_logits = false;
    hp_.n_embd = m.get_int(a + "embedding_length");
    hp_.n_layer = m.get_int(a + "block_count");
    hp_.n_head = m.get_int(a + "attention.head_count");
    hp_.n_head_kv = m.get_int(a + "attention.head_count_kv", hp_.n_head);
    hp_.n_ff = m.get_int(a + "feed_forward_length");
    hp_.n_ctx_train = m.get_int(a + "context_length", 512);
    embed::check_heads(f, a, hp_);
    hp_.head_dim = hp_.n_embd / hp_.n_head;
    hp_.pooling = embed::pooling_from_metadata(m, a + "pooling_type");
    eps_ = float(m.get_float(a + "attention.layer_norm_epsilon", 1e-12));
    const int64_t E = hp_.n_embd;

    const TensorInfo& te = f.get("token_embd.weight");
    hp_.n_vocab = te.ne[1];
    tok_embd_ = embed::load_matrix(f, codecs, "token_embd.weight", E, hp_.n_vocab);
    if (const TensorInfo* tt = f.find("token_types.weight")) {
      const k::Matrix types = embed::load_matrix(f, codecs, tt->name, E, tt->ne[1]);
      type_row0_.resize(size_t(E));
      const TokenId zero = 0;
      k::get_rows(types, std::span<const TokenId>(&zero, 1), type_row0_.data());
    }
    const TensorInfo& pe = f.get("position_embd.weight");
    pos_embd_ = embed::load_matrix(f, codecs, pe.name, E, pe.ne[1]);
    tok_norm_ = load_norm(f, codecs, "token_embd_norm");
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const std::string b = "blk." + std::to_string(il) + ".";
      Layer L;
      L.wq = embed::load_matrix(f, codecs, b + "attn_q.weight", E, E);
      L.wk = embed::load_matrix(f, codecs, b + "attn_k.weight", E, E);
      L.wv = embed::load_matrix(f, codecs, b + "attn_v.weight", E, E);
      L.wo = embed::load_matrix(f, codecs, b + "attn_output.weight", E, E);
      L.bq = embed::load_vector(f, codecs, b + "attn_q.bias", E);
      L.bk = embed::load_vector(f, codecs, b + "attn_k.bias", E);
      L.bv = embed::load_vector(f, codecs, b + "attn_v.bias", E);
      L.bo = embed::load_vector(f, codecs, b + "attn_output.bias", E);
      L.attn_out_norm = load_norm(f, codecs, b + "attn_output_norm");
      L.up = embed::load_matrix(f, codecs, b + "ffn_up.weight", E, hp_.n_ff);
      L.b_up = embed::load_vector(f, codecs, b + "ffn_up.bias", hp_.n_ff);
      L.down = embed::load_matrix(f, codecs, b + "ffn_down.weight", hp_.n_ff, E);
      L.b_down = embed::load_vector(f, codecs, b + "ffn_down.bias", E);
      L.layer_out_norm = load_norm(f, codecs, b + "layer_output_norm");
      layers_.push_back(std::move(L));
    }
    hp_.n_embd_out = E;
    if (f.find("cls.weight") && f.find("cls.output.weight")) {  // a reranker's classifier head
      cls_ = embed::load_matrix(f, codecs, "cls.weight", E, E);
      if (f.find("cls.bias")) cls_b_ = embed::load_vector(f, codecs, "cls.bias", E);
      const TensorInfo& co = f.get("cls.output.weight");
      cls_out_ = embed::load_matrix(f, codecs, co.name, E, co.ne[1]);
      if (f.find("cls.output.bias")) cls_out_b_ = embed::load_vector(f, codecs, "cls.output.bias", co.ne[1]);
      has_cls_ = true;
    }
    if (hp_.pooling == "rank") {
      if (!has_cls_)
        throw Error(f.path.string() + ": bert.pooling_type is rank but cls.weight / cls.output.weight are missing");
      hp_.n_embd_out = cls_out_.n_out;
    }
  }

  const HParams& hparams() const override { return hp_; }

  std::unique_ptr<Context> new_context(const RuntimeOptions& o) const override {
    const int64_t n_pos = pos_embd_.n_out;
    return std::make_unique<BertContext>(o, o.n_ctx > 0 ? std::min<int64_t>(o.n_ctx, n_pos) : n_pos);
  }

  void embed_tokens(std::span<const TokenId> ids, float* rows) const override {
    k::get_rows(tok_embd_, ids, rows);
  }

  void forward(const Batch& batch, Context& base, Outputs& out) override {
    auto* c = dynamic_cast<BertContext*>(&base);
    if (!c) throw Error("bert: the context was not made by this model");
    embed::check_batch("bert", batch, hp_.n_embd, c->n_ctx());
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd;
    float* x = embed::grow(c->x, size_t(n * E));
    float* cur = embed::grow(c->cur, size_t(n * E));
    if (batch.embd.empty()) embed_tokens(batch.tokens, x);
    else std::copy(batch.embd.begin(), batch.embd.end(), x);
    if (!type_row0_.empty()) k::add_row(x, type_row0_.data(), n, E);
    k::get_rows(pos_embd_, std::span<const TokenId>(batch.pos.data(), batch.pos.size()), cur);
    k::add(cur, x, x, n * E);
    norm(x, x, n, tok_norm_);
    run(batch, *c, out);
  }

  // Rank pooling only: the classifier head turns the CLS row into scores.
  void pooled_head(std::span<const float> in, size_t n_rows, std::vector<float>& out) const override {
    if (hp_.pooling != "rank") { out.assign(in.begin(), in.end()); return; }
    std::lock_guard<std::mutex> lock(head_mu_);
    if (!head_pool_) head_pool_ = std::make_unique<ThreadPool>(opts_.threads);
    const int64_t E = hp_.n_embd, r = int64_t(n_rows);
    std::vector<float> mid(size_t(r * E));
    k::matmul(*head_pool_, cls_, in.data(), r, mid.data(), head_scratch_);
    if (!cls_b_.empty()) k::add_row(mid.data(), cls_b_.data(), r, E);
    for (float& v : mid) v = std::tanh(v);
    out.resize(size_t(r * cls_out_.n_out));
    k::matmul(*head_pool_, cls_out_, mid.data(), r, out.data(), head_scratch_);
    if (!cls_out_b_.empty()) k::add_row(out.data(), cls_out_b_.data(), r, cls_out_.n_out);
  }

 private:
  static Norm load_norm(const ModelFile& f, const CodecSet& codecs, const std::string& base) {
    const int64_t n = f.get(base + ".weight").n_elements();
    return {embed::load_vector(f, codecs, base + ".weight", n), embed::load_vector(f, codecs, base + ".bias", n)};
  }

  void norm(const float* x, float* y, int64_t n_rows, const Norm& nm) const {
    k::layer_norm(x, y, n_rows, hp_.n_embd, eps_);
    k::mul_row(y, nm.w.data(), n_rows, hp_.n_embd);
    k::add_row(y, nm.b.data(), n_rows, hp_.n_embd);
  }

  void run(const Batch& batch, BertContext& c, Outputs& out) {
    const int64_t n = int64_t(batch.size()), E = hp_.n_embd, H = hp_.n_head, D = hp_.head_dim;
    const int64_t F = hp_.n_ff;
    std::vector<int32_t>& rows = out.rows;
    rows.clear();
    for (int64_t i = 0; i < n; ++i)
      if (batch.output[size_t(i)]) rows.push_back(int32_t(i));

    float* x = c.x.data();
    float* cur = c.cur.data();
    float* q = embed::grow(c.q, size_t(n * E));
    float* kb = embed::grow(c.kb, size_t(n * E));
    float* vb = embed::grow(c.vb, size_t(n * E));
    float* attn = embed::grow(c.attn, size_t(n * E));
    float* ffn = embed::grow(c.ffn, size_t(n * F));
    const k::AttnParams ap{H, H, D, 1.0f / std::sqrt(float(D)), 0.0f};
    ThreadPool& pool = c.pool;

    int64_t m = n;
    for (int il = 0; il < int(hp_.n_layer); ++il) {
      const Layer& L = layers_[size_t(il)];
      k::matmul(pool, L.wq, x, m, q, c.scratch);
      k::add_row(q, L.bq.data(), m, E);
      k::matmul(pool, L.wk, x, m, kb, c.scratch);
      k::add_row(kb, L.bk.data(), m, E);
      k::matmul(pool, L.wv, x, m, vb, c.scratch);
      k::add_row(vb, L.bv.data(), m, E);
      embed::encoder_attention(pool, batch, q, kb, vb, k::MaskParams{}, ap, attn, c.scratch, c.mask);
      k::matmul(pool, L.wo, attn, m, cur, c.scratch);
      k::add_row(cur, L.bo.data(), m, E);
      if (il == hp_.n_layer - 1 && int64_t(rows.size()) < m) {
        // As llama.cpp's inp_out_ids: only output rows go on after the last attention.
        for (size_t i = 0; i < rows.size(); ++i) {
          std::copy_n(cur + rows[i] * E, E, cur + i * E);
          std::copy_n(x + rows[i] * E, E, x + i * E);
        }
        m = int64_t(rows.size());
      }
      k::add(cur, x, cur, m * E);
      norm(cur, cur, m, L.attn_out_norm);  // ffn_inp
      k::matmul(pool, L.up, cur, m, ffn, c.scratch);
      k::add_row(ffn, L.b_up.data(), m, F);
      k::gelu(ffn, ffn, m * F);
      k::matmul(pool, L.down, ffn, m, x, c.scratch);
      k::add_row(x, L.b_down.data(), m, E);
      k::add(x, cur, x, m * E);
      norm(x, x, m, L.layer_out_norm);
    }
    if (m != int64_t(rows.size())) {
      for (size_t i = 0; i < rows.size(); ++i) std::copy_n(x + rows[i] * E, E, x + i * E);
      m = int64_t(rows.size());
    }
    out.hidden.assign(x, x + m * E);  // result_embd: what pooling reads
    out.logits.clear();
  }

  RuntimeOptions opts_;
  HParams hp_;
  float eps_ = 1e-12f;
  k::Matrix tok_embd_, pos_embd_, cls_, cls_out_;
  std::vector<float> type_row0_, cls_b_, cls_out_b_;
  Norm tok_norm_;
  std::vector<Layer> layers_;
  bool has_cls_ = false;
  mutable std::mutex head_mu_;
  mutable std::unique_ptr<ThreadPool> head_pool_;
  mutable k::Scratch head_scratch_;
};

class BertArchitecture : public Architecture {
 public:
  std::unique_ptr<Model> load(const ModelFile& file, const CodecSet& codecs,
                              const RuntimeOptions& opts) const override {
    return std::make_unique<BertModel>(file, codecs, opts);
  }
};

}  // namespace

std::unique_ptr<Architecture> make_architecture() { return std::make_unique<BertArchitecture>(); }

}  // namespace tessel::bert
