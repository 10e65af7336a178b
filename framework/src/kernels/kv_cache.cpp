#include "tessel/kv_cache.hpp"

#include <algorithm>

#include "tessel/error.hpp"
#include "tessel/half.hpp"

namespace tessel {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_embd_k, int64_t n_embd_v, bool f16)
    : n_layer_(n_layer), n_ctx_(n_ctx), n_embd_k_(n_embd_k), n_embd_v_(n_embd_v), f16_(f16),
      cell_pos_(size_t(n_ctx), -1), cell_seq_(size_t(n_ctx), -1) {
  if (f16_) {
    k16_.assign(size_t(n_layer), std::vector<uint16_t>(size_t(n_ctx * n_embd_k), 0));
    v16_.assign(size_t(n_layer), std::vector<uint16_t>(size_t(n_ctx * n_embd_v), 0));
  } else {
    k32_.assign(size_t(n_layer), std::vector<float>(size_t(n_ctx * n_embd_k), 0.0f));
    v32_.assign(size_t(n_layer), std::vector<float>(size_t(n_ctx * n_embd_v), 0.0f));
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
    uint16_t* kd = k16_[size_t(il)].data() + cell * n_embd_k_;
    uint16_t* vd = v16_[size_t(il)].data() + cell * n_embd_v_;
    for (int64_t i = 0; i < n * n_embd_k_; ++i) kd[i] = fp32_to_fp16(k[i]);
    for (int64_t i = 0; i < n * n_embd_v_; ++i) vd[i] = fp32_to_fp16(v[i]);
  } else {
    std::copy(k, k + n * n_embd_k_, k32_[size_t(il)].data() + cell * n_embd_k_);
    std::copy(v, v + n * n_embd_v_, v32_[size_t(il)].data() + cell * n_embd_v_);
  }
}

kernels::KvView KvCache::view(int64_t il, int64_t n_kv) const {
  kernels::KvView v;
  v.type = f16_ ? TypeId::F16 : TypeId::F32;
  v.k = f16_ ? static_cast<const void*>(k16_[size_t(il)].data()) : k32_[size_t(il)].data();
  v.v = f16_ ? static_cast<const void*>(v16_[size_t(il)].data()) : v32_[size_t(il)].data();
  v.n_kv = std::min(n_kv, n_ctx_);
  v.k_stride = n_embd_k_;
  v.v_stride = n_embd_v_;
  return v;
}

}  // namespace tessel
