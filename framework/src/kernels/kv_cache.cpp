#include "tessel/kv_cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "tessel/error.hpp"
#include "tessel/half.hpp"

namespace tessel {

namespace {

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / double(1ull << 30));
  return buf;
}

}  // namespace

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_embd_k, int64_t n_embd_v, bool f16)
    : n_layer_(n_layer), n_ctx_(n_ctx), n_embd_k_(n_embd_k), n_embd_v_(n_embd_v), f16_(f16) {
  if (n_layer < 0 || n_ctx < 0 || n_embd_k < 0 || n_embd_v < 0)
    throw Error("KV cache: invalid shape (" + std::to_string(n_layer) + " layers, context " +
                std::to_string(n_ctx) + ", " + std::to_string(n_embd_k) + "/" + std::to_string(n_embd_v) +
                " values per cell)");
  const double elem = f16 ? 2.0 : 4.0;
  const double per_layer_k = double(n_ctx) * double(n_embd_k) * elem;
  const double per_layer_v = double(n_ctx) * double(n_embd_v) * elem;
  const double total = double(n_layer) * (per_layer_k + per_layer_v);
  const double memory = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
  if (memory > 0 && total > memory)
    throw Error("the KV cache for a context of " + std::to_string(n_ctx) + " tokens needs " + gib(total) +
                " (" + std::to_string(n_layer) + " layers), more than this machine's " + gib(memory) +
                " of memory; use a smaller context (-c / runtime.context)");
  cell_pos_.assign(size_t(n_ctx), -1);
  cell_seq_.assign(size_t(n_ctx), -1);
  auto zeroed = [&](double bytes) {
    Rows p(std::calloc(1, std::max<size_t>(size_t(bytes), 1)));
    if (!p)
      throw Error("out of memory allocating " + gib(total) + " for the KV cache (context " +
                  std::to_string(n_ctx) + "); use a smaller context (-c / runtime.context)");
    return p;
  };
  for (int64_t il = 0; il < n_layer; ++il) {
    k_.push_back(zeroed(per_layer_k));
    v_.push_back(zeroed(per_layer_v));
  }
}

int64_t KvCache::allocate(std::span<const int32_t> pos, std::span<const int32_t> seq) {
  const int64_t n = int64_t(pos.size());
  if (used_ + n > n_ctx_)
    throw Error("the batch of " + std::to_string(n) + " tokens does not fit the context of " +
                std::to_string(n_ctx_) + " (" + std::to_string(used_) +
                " cells in use); use a larger context (-c)");
  const int64_t first = used_;
  for (int64_t i = 0; i < n; ++i) {
    cell_pos_[size_t(first + i)] = pos[size_t(i)];
    cell_seq_[size_t(first + i)] = seq[size_t(i)];
  }
  used_ += n;
  return first;
}

void KvCache::release_tail(int64_t n) {
  n = std::min(n, used_);
  for (int64_t i = used_ - n; i < used_; ++i) cell_pos_[size_t(i)] = cell_seq_[size_t(i)] = -1;
  used_ -= n;
}

void KvCache::clear() {
  std::fill(cell_pos_.begin(), cell_pos_.end(), -1);
  std::fill(cell_seq_.begin(), cell_seq_.end(), -1);
  used_ = 0;
}

int32_t KvCache::n_past(int32_t seq) const {
  int32_t next = 0;
  for (int64_t i = 0; i < used_; ++i)
    if (cell_seq_[size_t(i)] == seq) next = std::max(next, cell_pos_[size_t(i)] + 1);
  return next;
}

void KvCache::store(int64_t il, int64_t cell, int64_t n, const float* k, const float* v) {
  if (f16_) {
    uint16_t* kd = static_cast<uint16_t*>(k_[size_t(il)].get()) + cell * n_embd_k_;
    uint16_t* vd = static_cast<uint16_t*>(v_[size_t(il)].get()) + cell * n_embd_v_;
    for (int64_t i = 0; i < n * n_embd_k_; ++i) kd[i] = fp32_to_fp16(k[i]);
    for (int64_t i = 0; i < n * n_embd_v_; ++i) vd[i] = fp32_to_fp16(v[i]);
  } else {
    std::copy(k, k + n * n_embd_k_, static_cast<float*>(k_[size_t(il)].get()) + cell * n_embd_k_);
    std::copy(v, v + n * n_embd_v_, static_cast<float*>(v_[size_t(il)].get()) + cell * n_embd_v_);
  }
}

kernels::KvView KvCache::view(int64_t il, int64_t n_kv) const {
  kernels::KvView v;
  v.type = f16_ ? TypeId::F16 : TypeId::F32;
  v.k = k_[size_t(il)].get();
  v.v = v_[size_t(il)].get();
  v.n_kv = std::min(n_kv, n_ctx_);
  v.k_stride = n_embd_k_;
  v.v_stride = n_embd_v_;
  return v;
}

}  // namespace tessel
