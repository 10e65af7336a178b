// The kit's context and the Model plumbing every transformer shares: batch
// checks, input embedding and scaling, KV allocation and rollback.
#include <algorithm>
#include <cmath>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::kit {

ModelContext::ModelContext(const HParams& hp, const RuntimeOptions& o, int64_t n_ctx, bool kv_cache)
    : pool(o.threads), flash(o.flash_attn), n_ctx_(int32_t(n_ctx)) {
  if (kv_cache)
    kv.emplace(hp.n_layer, n_ctx, hp.n_head_kv * hp.head_dim, hp.n_head_kv * hp.head_dim, o.kv_f16, o.n_seq);
}

void ModelContext::clear() {
  if (kv) kv->clear();
}

int32_t ModelContext::n_past(int32_t seq) const { return kv ? kv->n_past(seq) : 0; }

void ModelContext::remove_seq(int32_t seq) {
  if (kv) kv->remove_seq(seq);
}

void ModelContext::truncate_seq(int32_t seq, int32_t from_pos) {
  if (kv) kv->truncate_seq(seq, from_pos);
}

std::vector<float>& ModelContext::vec(size_t slot) {
  if (bufs_.size() <= slot) bufs_.resize(slot + 1);
  return bufs_[slot];
}

float* ModelContext::buf(size_t slot, size_t n) {
  std::vector<float>& v = vec(slot);
  if (v.size() < n) v.resize(n);
  return v.data();
}

void linear(Context& base, const Linear& l, const float* in, int64_t rows, float* y) {
  auto* c = dynamic_cast<ModelContext*>(&base);
  if (!c) throw Error("the context was not made by this model");
  k::matmul(c->pool, l.w, in, rows, y, c->scratch);
  if (!l.b.empty()) k::add_row(y, l.b.data(), rows, l.w.n_out);
}

std::unique_ptr<Context> Transformer::new_context(const RuntimeOptions& o) const {
  const bool cached = hp_.causal;  // encoders see whole sequences: nothing to remember
  int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : cached ? std::min<int64_t>(hp_.n_ctx_train, 4096) : hp_.n_ctx_train;
  if (max_ctx_ > 0) n_ctx = std::min(n_ctx, max_ctx_);
  return std::make_unique<ModelContext>(hp_, o, n_ctx, cached);
}

void Transformer::embed_tokens(std::span<const TokenId> ids, float* rows) const {
  k::get_rows(tok_embd_, ids, rows);
}

namespace {
void check_batch(const HParams& hp, const Batch& b, const ModelContext& c) {
  const size_t n = b.size();
  const std::string& a = hp.arch;
  if (n == 0) throw Error(a + ": empty batch");
  if (b.seq.size() != n || b.output.size() != n) throw Error(a + ": batch pos/seq/output sizes differ");
  if (b.embd.empty() ? b.tokens.size() != n
                     : (!b.tokens.empty() || b.embd.size() != n * size_t(hp.n_embd)))
    throw Error(a + ": the batch needs " + std::to_string(n) + " tokens or " + std::to_string(n) +
                " x " + std::to_string(hp.n_embd) + " embedding values, got " +
                std::to_string(b.tokens.size()) + " tokens and " + std::to_string(b.embd.size()) +
                " values");
  for (size_t i = 0; i < n; ++i)
    if (b.pos[i] < 0 || (!c.kv && b.pos[i] >= c.n_ctx()))
      throw Error(a + ": position " + std::to_string(b.pos[i]) + " is outside the context of " +
                  std::to_string(c.n_ctx()) + " (a text of more tokens than the model takes?)");
}
}  // namespace

void Transformer::forward(const Batch& batch, Context& base, Outputs& out) {
  auto* c = dynamic_cast<ModelContext*>(&base);
  if (!c) throw Error(hp_.arch + ": the context was not made by this model");
  check_batch(hp_, batch, *c);
  const int64_t n = int64_t(batch.size()), E = hp_.n_embd;
  float* x = c->buf(0, size_t(n * E));
  if (batch.embd.empty()) embed_tokens(batch.tokens, x);  // throws on a bad id
  else std::copy(batch.embd.begin(), batch.embd.end(), x);
  std::vector<int64_t> cells;
  if (c->kv) cells = c->kv->allocate(batch.pos, batch.seq);
  try {
    Pass p(hp_, batch, *c, out, cells, swa_);
    p.emit("embd", -1, x, {E, n});
    if (token_scale_ > 0.0f) {
      // Only token rows are scaled ("do not normalize raw embeddings input").
      if (batch.embd.empty()) k::scale(x, n * E, token_scale_);
      p.emit("inp_scaled", -1, x, {E, n});
    }
    graph(p);
  } catch (...) {
    if (c->kv) c->kv->release(cells);  // a failed pass leaves the cache as it was
    throw;
  }
}

}  // namespace tessel::kit
