#pragma once
// The KV cache of a causal model: per layer, one K row and one V row per cell,
// F16 (llama.cpp's default) or F32. Cells are handed out in order; each cell
// remembers the position and sequence of the token it holds, which is all the
// mask builder needs (kernels::build_mask).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "tessel/kernels.hpp"

namespace tessel {

class KvCache {
 public:
  // n_embd_k / n_embd_v: floats per cell and layer (n_head_kv * head_dim).
  // Throws tessel::Error, saying how much memory it would take, when the cache
  // is larger than this machine's memory.
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_embd_k, int64_t n_embd_v, bool f16);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t used() const { return used_; }
  bool is_f16() const { return f16_; }

  // Reserves one cell per batch row (in order) and records its position and
  // sequence; returns the first cell. Throws tessel::Error when the batch does
  // not fit (naming the context size and how many cells are in use).
  int64_t allocate(std::span<const int32_t> pos, std::span<const int32_t> seq);
  // Gives back the last `n` cells (a failed forward pass).
  void release_tail(int64_t n);
  void clear();
  // Next position of `seq`: one past the largest position it holds, 0 if none.
  int32_t n_past(int32_t seq) const;

  // Writes rows [cell, cell + n) of layer `il` from float rows (rounded to F16
  // when the cache is F16, as ggml's SET_ROWS/CPY does).
  void store(int64_t il, int64_t cell, int64_t n, const float* k, const float* v);

  // The first `n_kv` cells of layer `il` for kernels::attention. n_kv may
  // exceed used() (padding cells are zero and masked).
  kernels::KvView view(int64_t il, int64_t n_kv) const;

  const std::vector<int32_t>& cell_pos() const { return cell_pos_; }   // -1: empty
  const std::vector<int32_t>& cell_seq() const { return cell_seq_; }   // -1: empty

 private:
  int64_t n_layer_, n_ctx_, n_embd_k_, n_embd_v_;
  bool f16_;
  int64_t used_ = 0;
  std::vector<int32_t> cell_pos_, cell_seq_;
  // Zeroed lazily (calloc maps fresh pages): a large context costs memory only
  // as far as it is used, instead of zero-filling every cell up front.
  struct FreeDeleter { void operator()(void* p) const { std::free(p); } };
  using Rows = std::unique_ptr<void, FreeDeleter>;
  std::vector<Rows> k_, v_;  // per layer: uint16_t (F16) or float cells
};

}  // namespace tessel
