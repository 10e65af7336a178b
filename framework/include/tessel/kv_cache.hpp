#pragma once
// The KV cache of a causal model: per layer, one K row and one V row per cell,
// F16 (llama.cpp's default) or F32. Each cell remembers the position and
// sequence of the token it holds, which is all the mask builder needs
// (kernels::build_mask). Sequences can be removed one at a time (a server slot
// finishing) and their cells are reused.
//
// Why cells are placed the way they are: a row's attention adds up its
// sequence's cells in cell order, so a sequence's cells are always kept in
// position order (each new cell lies after the sequence's last one). Then a
// sequence decoded beside others sums the same values in the same order as
// when it runs alone; other sequences' cells in between are masked and add
// exact zeros. With n_seq > 1 (a server's slots) the cells are split into
// n_seq equal parts and sequence s only uses part s % n_seq, so a slot can
// always grow to its share whatever the others hold.
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
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_embd_k, int64_t n_embd_v, bool f16,
          int64_t n_seq = 1);

  int64_t n_ctx() const { return n_ctx_; }
  // Cells holding a token.
  int64_t used() const { return used_; }
  // One past the last cell holding a token: attention looks at cells
  // [0, extent()) (free cells below it are masked).
  int64_t extent() const { return extent_; }
  bool is_f16() const { return f16_; }

  // Reserves one cell per batch row and records its position and sequence;
  // returns the cells in row order (valid until the next allocate). Consecutive
  // rows get consecutive cells when the cache is filled in order. Throws
  // tessel::Error when the batch does not fit (naming the context size and how
  // many cells are in use); the cache is then unchanged.
  const std::vector<int64_t>& allocate(std::span<const int32_t> pos, std::span<const int32_t> seq);
  // Frees `cells` (the cells of a failed forward pass).
  void release(std::span<const int64_t> cells);
  // Frees every cell of sequence `seq`.
  void remove_seq(int32_t seq);
  // Frees the cells of `seq` at positions >= from_pos (llama.cpp's
  // llama_memory_seq_rm(seq, from_pos, -1)): the sequence then continues at
  // from_pos, its remaining cells still in position order.
  void truncate_seq(int32_t seq, int32_t from_pos);
  // Frees every cell and zeroes every row written so far: afterwards the
  // cache equals a new one (dumps and results don't depend on earlier use).
  void clear();
  // Next position of `seq`: one past the largest position it holds, 0 if none.
  int32_t n_past(int32_t seq) const;

  // Writes batch row i of the float rows k, v to cells[i] of layer `il`
  // (rounded to F16 when the cache is F16, as ggml's SET_ROWS/CPY does).
  void store(int64_t il, std::span<const int64_t> cells, const float* k, const float* v);

  // The first `n_kv` cells of layer `il` for kernels::attention. n_kv may
  // exceed extent() (padding cells are masked).
  kernels::KvView view(int64_t il, int64_t n_kv) const;

  const std::vector<int32_t>& cell_pos() const { return cell_pos_; }   // -1: empty
  const std::vector<int32_t>& cell_seq() const { return cell_seq_; }   // -1: empty

 private:
  void free_cell(int64_t cell);
  void update_extent();
  int64_t n_layer_, n_ctx_, n_embd_k_, n_embd_v_, n_seq_;
  bool f16_;
  int64_t used_ = 0, extent_ = 0;
  int64_t touched_ = 0;  // one past the highest cell written since creation or clear()
  std::vector<int32_t> cell_pos_, cell_seq_;
  std::vector<int64_t> cells_;  // the last allocation
  // Zeroed lazily (calloc maps fresh pages): a large context costs memory only
  // as far as it is used, instead of zero-filling every cell up front.
  struct FreeDeleter { void operator()(void* p) const { std::free(p); } };
  using Rows = std::unique_ptr<void, FreeDeleter>;
  std::vector<Rows> k_, v_;  // per layer: uint16_t (F16) or float cells
};

}  // namespace tessel
