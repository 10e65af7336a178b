// Pooling, normalization and the batching Embedder (llama-embedding's loop).
#include "tessel/embedding.hpp"

#include <algorithm>
#include <cmath>

#include "tessel/error.hpp"

namespace tessel::embed {

// ------------------------------------------------------------ pooling --

Pooling parse_pooling(const std::string& name) {
  if (name == "none") return Pooling::none;
  if (name == "mean") return Pooling::mean;
  if (name == "cls") return Pooling::cls;
  if (name == "last") return Pooling::last;
  if (name == "rank") return Pooling::rank;
  throw Error("pooling '" + name + "' is not one of: auto, none, mean, cls, last, rank");
}

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::none: return "none";
    case Pooling::mean: return "mean";
    case Pooling::cls: return "cls";
    case Pooling::last: return "last";
    case Pooling::rank: return "rank";
  }
  return "?";
}

Pooling resolve_pooling(const std::string& requested, const HParams& hp) {
  const Pooling p = parse_pooling(requested == "auto" || requested.empty() ? hp.pooling : requested);
  if (p == Pooling::rank && hp.pooling != "rank")
    throw Error("pooling rank needs a reranker whose metadata declares it (" + hp.arch +
                " model pooling is '" + hp.pooling + "')");
  return p;
}

void pool_rows(const float* rows, int64_t n_rows, int64_t n, Pooling p, float* out) {
  if (n_rows <= 0) throw Error("pooling: a sequence without rows");
  switch (p) {
    case Pooling::mean: {
      // ggml: inp^T x (1/n per row), accumulated in float.
      const float div = 1.0f / float(n_rows);
      for (int64_t i = 0; i < n; ++i) {
        float s = 0.0f;
        for (int64_t t = 0; t < n_rows; ++t) s += rows[t * n + i] * div;
        out[i] = s;
      }
      return;
    }
    case Pooling::cls:
    case Pooling::rank: std::copy_n(rows, n, out); return;
    case Pooling::last: std::copy_n(rows + (n_rows - 1) * n, n, out); return;
    case Pooling::none: throw Error("pooling: 'none' keeps every row; nothing to pool");
  }
}

// ------------------------------------------------------- normalization --

void normalize(const float* in, float* out, int64_t n, int mode) {
  double sum = 0.0;
  if (mode < -1) throw Error("embd-normalize " + std::to_string(mode) + " is not -1, 0, 1, 2 or a p > 2");
  if (mode == -1) {
    sum = 1.0;
  } else if (mode == 0) {  // max absolute, scaled to the int16 range
    for (int64_t i = 0; i < n; ++i) sum = std::max(sum, double(std::abs(in[i])));
    sum /= 32760.0;
  } else if (mode == 2) {
    for (int64_t i = 0; i < n; ++i) sum += double(in[i] * in[i]);
    sum = std::sqrt(sum);
  } else {  // p-norm (1: taxicab)
    for (int64_t i = 0; i < n; ++i) sum += std::pow(double(std::abs(in[i])), double(mode));
    sum = std::pow(sum, 1.0 / double(mode));
  }
  const float norm = sum > 0.0 ? float(1.0 / sum) : 0.0f;
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] * norm;
}

float cosine_similarity(const float* a, const float* b, int64_t n) {
  double sum = 0.0, sa = 0.0, sb = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sum += double(a[i]) * b[i];
    sa += double(a[i]) * a[i];
    sb += double(b[i]) * b[i];
  }
  if (sa == 0.0 || sb == 0.0) return sa == 0.0 && sb == 0.0 ? 1.0f : 0.0f;
  return float(sum / (std::sqrt(sa) * std::sqrt(sb)));
}

// ------------------------------------------------------------ embedder --

Embedder::Embedder(Model& model, const RuntimeOptions& runtime, Options opts)
    : model_(model), opts_(opts) {
  if (opts_.n_batch <= 0) throw Error("embed: the batch size must be > 0");
  if (opts_.dims < 0) throw Error("embed: --dims must be >= 0");
  ctx_ = model_.new_context(runtime);
}

Embedder::~Embedder() = default;

int64_t Embedder::width() const {
  const HParams& hp = model_.hparams();
  const int64_t w = hp.n_embd_out > 0 ? hp.n_embd_out : hp.n_embd;
  return opts_.dims > 0 ? std::min<int64_t>(w, opts_.dims) : w;
}

namespace {
size_t rows_of(const Input& in, int64_t n_embd) {
  return in.embd.empty() ? in.tokens.size() : in.embd.size() / size_t(n_embd);
}
}  // namespace

std::vector<Result> Embedder::embed(const std::vector<Input>& inputs,
                                    const std::function<void(size_t, size_t)>& progress) {
  const int64_t n_embd = model_.hparams().n_embd;
  const size_t cap = size_t(std::min<int64_t>(opts_.n_batch, ctx_->n_ctx()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Input& in = inputs[i];
    if (!in.embd.empty() && !in.tokens.empty())
      throw Error("embed: input " + std::to_string(i) + " has both tokens and embedding rows");
    if (!in.embd.empty() && in.embd.size() % size_t(n_embd) != 0)
      throw Error("embed: input " + std::to_string(i) + " has " + std::to_string(in.embd.size()) +
                  " embedding values, not a multiple of n_embd " + std::to_string(n_embd));
    const size_t n = rows_of(in, n_embd);
    if (n == 0) throw Error("embed: input " + std::to_string(i) + " is empty");
    if (n > cap)
      throw Error("embed: input " + std::to_string(i) + " has " + std::to_string(n) +
                  " tokens, more than the batch size " + std::to_string(cap) +
                  " (raise -b / runtime.batch; the context holds " + std::to_string(ctx_->n_ctx()) + ")");
  }
  std::vector<Result> results(inputs.size());
  size_t first = 0;
  while (first < inputs.size()) {
    // Whole inputs only, as many as fit; token and raw-row inputs never mix.
    size_t count = 0, rows = 0;
    const bool raw = !inputs[first].embd.empty();
    while (first + count < inputs.size()) {
      const Input& in = inputs[first + count];
      const size_t n = rows_of(in, n_embd);
      if (rows + n > cap || (!in.embd.empty()) != raw) break;
      rows += n;
      ++count;
    }
    run_batch(inputs, first, count, results);
    first += count;
    if (progress) progress(first, inputs.size());
  }
  return results;
}

void Embedder::run_batch(const std::vector<Input>& inputs, size_t first, size_t count,
                         std::vector<Result>& results) {
  const int64_t n_embd = model_.hparams().n_embd;
  Batch batch;
  std::vector<size_t> start(count + 1, 0);
  for (size_t s = 0; s < count; ++s) {
    const Input& in = inputs[first + s];
    const size_t n = rows_of(in, n_embd);
    for (size_t i = 0; i < n; ++i) {
      batch.pos.push_back(int32_t(i));
      batch.seq.push_back(int32_t(s));
      batch.output.push_back(1);
    }
    if (in.embd.empty()) batch.tokens.insert(batch.tokens.end(), in.tokens.begin(), in.tokens.end());
    else batch.embd.insert(batch.embd.end(), in.embd.begin(), in.embd.end());
    start[s + 1] = start[s] + n;
  }
  batch.causal = model_.hparams().causal;
  ctx_->clear();
  Outputs out;
  out.want_logits = false;
  out.want_hidden = true;
  model_.forward(batch, *ctx_, out);
  if (out.rows.size() != batch.size() || out.hidden.size() != batch.size() * size_t(n_embd))
    throw Error("embed: the model returned " + std::to_string(out.hidden.size()) +
                " hidden values for " + std::to_string(batch.size()) + " rows of " +
                std::to_string(n_embd));
  // Pool per sequence, then the model's head over all pooled rows at once.
  const bool none = opts_.pooling == Pooling::none;
  std::vector<float> pooled;
  if (none) {
    pooled = std::move(out.hidden);
  } else {
    pooled.resize(count * size_t(n_embd));
    for (size_t s = 0; s < count; ++s)
      pool_rows(out.hidden.data() + start[s] * size_t(n_embd), int64_t(start[s + 1] - start[s]),
                n_embd, opts_.pooling, pooled.data() + s * size_t(n_embd));
  }
  const size_t n_rows = none ? batch.size() : count;
  std::vector<float> head;
  model_.pooled_head(pooled, n_rows, head, *ctx_);
  if (n_rows == 0 || head.size() % n_rows != 0)
    throw Error("embed: the model's pooled head returned " + std::to_string(head.size()) +
                " values for " + std::to_string(n_rows) + " rows");
  const int64_t w_head = int64_t(head.size() / n_rows), w = std::min<int64_t>(w_head, width());
  for (size_t s = 0; s < count; ++s) {
    Result& r = results[first + s];
    const size_t r0 = none ? start[s] : s, nr = none ? start[s + 1] - start[s] : 1;
    r.rows = int64_t(nr);
    r.cols = w;
    r.data.resize(nr * size_t(w));
    for (size_t i = 0; i < nr; ++i)
      normalize(head.data() + (r0 + i) * size_t(w_head), r.data.data() + i * size_t(w), w, opts_.normalize);
  }
}

}  // namespace tessel::embed
