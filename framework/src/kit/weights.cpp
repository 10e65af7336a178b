// Tensor loading with shape checks and bookkeeping of what was used.
#include <algorithm>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::kit {

std::string blk(int64_t il, std::string_view name) {
  return "blk." + std::to_string(il) + "." + std::string(name);
}

Weights::Weights(const ModelFile& f, const CodecSet& codecs) : f_(f), codecs_(codecs), hp_(f) {}

std::string Weights::path() const { return f_.path.string(); }

const TensorInfo& Weights::info(const std::string& name) const {
  const TensorInfo& t = f_.get(name);
  const_cast<std::set<std::string>&>(used_).insert(name);
  return t;
}

k::Matrix Weights::matrix(const std::string& name, int64_t n_in, int64_t n_out) {
  const TensorInfo& t = info(name);
  if (t.ne[0] != n_in || (n_out >= 0 && t.ne[1] != n_out) || t.ne[2] != 1 || t.ne[3] != 1)
    throw Error(path() + ": tensor " + name + " has shape " + t.shape_string() + "; expected [" +
                std::to_string(n_in) + ", " + (n_out >= 0 ? std::to_string(n_out) : "n") + "]");
  return k::Matrix::from(t, codecs_);
}

std::vector<float> Weights::vector(const std::string& name, int64_t n) {
  const TensorInfo& t = info(name);
  if (t.n_elements() != n)
    throw Error(path() + ": tensor " + name + " has shape " + t.shape_string() + "; expected [" +
                std::to_string(n) + "]");
  std::vector<float> v(static_cast<size_t>(n));
  codecs_.get(t.type, name).to_float(t.data.data(), v.data(), size_t(n));
  return v;
}

std::vector<float> Weights::optional_vector(const std::string& name, int64_t n) {
  return has(name) ? vector(name, n) : std::vector<float>{};
}

Linear Weights::linear(const std::string& base, int64_t n_in, int64_t n_out, Bias bias) {
  Linear l;
  l.w = matrix(base + ".weight", n_in, n_out);
  const std::string b = base + ".bias";
  if (bias == Bias::required || (bias == Bias::optional && has(b))) l.b = vector(b, l.w.n_out);
  return l;
}

Linear Weights::optional_linear(const std::string& base, int64_t n_in, int64_t n_out, Bias bias) {
  return has(base + ".weight") ? linear(base, n_in, n_out, bias) : Linear{};
}

Norm Weights::norm(const std::string& base, int64_t n, Bias bias) {
  Norm nm;
  nm.w = vector(base + ".weight", n);
  const std::string b = base + ".bias";
  if (bias == Bias::required || (bias == Bias::optional && has(b))) nm.b = vector(b, n);
  return nm;
}

Norm Weights::optional_norm(const std::string& base, int64_t n, Bias bias) {
  return has(base + ".weight") ? norm(base, n, bias) : Norm{};
}

AttnWeights Weights::attention(int64_t il, const HParams& hp, Bias bias, Bias out_bias) {
  return attention(blk(il, ""), hp, bias, out_bias);
}

AttnWeights Weights::attention(const std::string& at, const HParams& hp, Bias bias, Bias out_bias,
                               const std::string& out) {
  const int64_t E = hp.n_embd, NQ = hp.n_head * hp.head_dim, NK = hp.n_head_kv * hp.head_dim;
  AttnWeights a;
  if (has(at + "attn_qkv.weight")) {
    a.qkv = linear(at + "attn_qkv", E, NQ + 2 * NK, bias);
  } else {
    a.q = linear(at + "attn_q", E, NQ, bias);
    a.k = linear(at + "attn_k", E, NK, bias);
    a.v = linear(at + "attn_v", E, NK, bias);
  }
  a.o = linear(at + out, NQ, E, out_bias);
  a.q_norm = optional_vector(at + "attn_q_norm.weight", hp.head_dim);
  a.k_norm = optional_vector(at + "attn_k_norm.weight", hp.head_dim);
  return a;
}

k::Matrix OwnedMatrices::make(const CodecSet& codecs, const std::string& name, TypeId type,
                              std::span<const float> f, int64_t n_in, int64_t n_out) {
  const Codec& codec = codecs.get(type, name);
  bytes_.emplace_back(row_bytes(type, n_in) * size_t(n_out));
  codec.from_float(f.data(), bytes_.back().data(), f.size());
  TensorInfo t;
  t.name = name, t.type = type, t.n_dims = 2, t.ne = {n_in, n_out, 1, 1};
  t.data = std::span<const std::byte>(bytes_.back().data(), bytes_.back().size());
  return k::Matrix::from(t, codecs);
}

std::vector<float> transpose(std::span<const float> f, int64_t rows, int64_t cols) {
  std::vector<float> t(f.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[size_t(c * rows + r)] = f[size_t(r * cols + c)];
  return t;
}

void Weights::check_all_used() const {
  std::vector<std::string> unused;
  for (const TensorInfo& t : f_.tensors)
    if (!used_.count(t.name)) unused.push_back(t.name);
  if (unused.empty()) return;
  std::string list;
  for (size_t i = 0; i < unused.size() && i < 4; ++i) list += (i ? ", " : "") + unused[i];
  if (unused.size() > 4) list += ", ...";
  throw Error(path() + ": wrong number of tensors: the " + hp_.arch() + " architecture uses " +
              std::to_string(f_.tensors.size() - unused.size()) + " of " +
              std::to_string(f_.tensors.size()) + "; unused: " + list +
              " (does block_count match the file's layers?)");
}

}  // namespace tessel::kit
