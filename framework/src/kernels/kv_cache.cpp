#include "tessel/kv_cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

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

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_embd_k, int64_t n_embd_v, bool f16,
                 int64_t n_seq)
    : n_layer_(n_layer), n_ctx_(n_ctx), n_embd_k_(n_embd_k), n_embd_v_(n_embd_v),
      n_seq_(std::max<int64_t>(n_seq, 1)), f16_(f16) {
  if (n_seq_ > n_ctx_ && n_ctx_ >= 0)
    throw Error("a context of " + std::to_string(n_ctx_) + " cells can't be split among " +
                std::to_string(n_seq_) + " sequences");
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

const std::vector<int64_t>& KvCache::allocate(std::span<const int32_t> pos, std::span<const int32_t> seq) {
  const int64_t n = int64_t(pos.size());
  auto no_room = [&] {
    return Error("the batch of " + std::to_string(n) + " tokens does not fit the context of " +
                 std::to_string(n_ctx_) + " (" + std::to_string(used_) +
                 " cells in use); use a larger context (-c)");
  };
  if (used_ + n > n_ctx_) throw no_room();
  // Each row's search starts after the last cell of its sequence (so a
  // sequence's cells stay in position order) and after the previous row's
  // cell (so a run of one sequence is contiguous when the space allows).
  const int64_t share = n_ctx_ / n_seq_;
  std::unordered_map<int32_t, int64_t> after;  // sequence -> first cell it may take
  if (extent_ > 0)
    for (int64_t c = 0; c < extent_; ++c)
      if (cell_seq_[size_t(c)] >= 0) after[cell_seq_[size_t(c)]] = c + 1;
  cells_.clear();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t s = seq[size_t(i)];
    const int64_t lo = n_seq_ > 1 ? int64_t(s < 0 ? 0 : s % n_seq_) * share : 0;
    const int64_t hi = n_seq_ > 1 ? lo + share : n_ctx_;
    auto it = after.find(s);
    int64_t c = std::max(lo, it == after.end() ? lo : it->second);
    while (c < hi && cell_seq_[size_t(c)] >= 0) ++c;
    if (c >= hi) {  // no free cell after the sequence's last one
      release(cells_);
      if (n_seq_ > 1)
        throw Error("sequence " + std::to_string(s) + " has filled its share of " +
                    std::to_string(share) + " cells (context " + std::to_string(n_ctx_) + " split " +
                    std::to_string(n_seq_) + " ways)");
      throw no_room();
    }
    cell_pos_[size_t(c)] = pos[size_t(i)];
    cell_seq_[size_t(c)] = s;
    ++used_;
    extent_ = std::max(extent_, c + 1);
    touched_ = std::max(touched_, c + 1);
    after[s] = c + 1;
    cells_.push_back(c);
  }
  return cells_;
}

void KvCache::free_cell(int64_t cell) {
  if (cell < 0 || cell >= n_ctx_ || cell_seq_[size_t(cell)] < 0) return;
  cell_pos_[size_t(cell)] = cell_seq_[size_t(cell)] = -1;
  --used_;
}

void KvCache::update_extent() {
  while (extent_ > 0 && cell_seq_[size_t(extent_ - 1)] < 0) --extent_;
}

void KvCache::release(std::span<const int64_t> cells) {
  for (int64_t c : std::vector<int64_t>(cells.begin(), cells.end())) free_cell(c);
  update_extent();
}

void KvCache::remove_seq(int32_t seq) {
  for (int64_t c = 0; c < extent_; ++c)
    if (cell_seq_[size_t(c)] == seq) free_cell(c);
  update_extent();
}

void KvCache::truncate_seq(int32_t seq, int32_t from_pos) {
  for (int64_t c = 0; c < extent_; ++c)
    if (cell_seq_[size_t(c)] == seq && cell_pos_[size_t(c)] >= from_pos) free_cell(c);
  update_extent();
}

void KvCache::clear() {
  std::fill(cell_pos_.begin(), cell_pos_.end(), -1);
  std::fill(cell_seq_.begin(), cell_seq_.end(), -1);
  // The rows written since the cache was made (or last cleared) go back to
  // zero, so a cleared cache is a new one: masked cells still enter K·Q, and
  // the layer dump's kq (padded to 256 cells, as llama.cpp's) showed the
  // previous user's keys there -- a test binary's earlier cases leaked into a
  // later dump. Only the touched rows: a large context stays lazily mapped.
  const size_t elem = f16_ ? 2 : 4;
  for (int64_t il = 0; il < n_layer_; ++il) {
    std::memset(k_[size_t(il)].get(), 0, size_t(touched_ * n_embd_k_) * elem);
    std::memset(v_[size_t(il)].get(), 0, size_t(touched_ * n_embd_v_) * elem);
  }
  used_ = extent_ = touched_ = 0;
}

int32_t KvCache::n_past(int32_t seq) const {
  int32_t next = 0;
  for (int64_t i = 0; i < extent_; ++i)
    if (cell_seq_[size_t(i)] == seq) next = std::max(next, cell_pos_[size_t(i)] + 1);
  return next;
}

void KvCache::store(int64_t il, std::span<const int64_t> cells, const float* k, const float* v) {
  const int64_t n = int64_t(cells.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t cell = cells[size_t(i)];
    // Runs of consecutive cells are copied together.
    int64_t run = 1;
    while (i + run < n && cells[size_t(i + run)] == cell + run) ++run;
    const float* ks = k + i * n_embd_k_;
    const float* vs = v + i * n_embd_v_;
    if (f16_) {
      uint16_t* kd = static_cast<uint16_t*>(k_[size_t(il)].get()) + cell * n_embd_k_;
      uint16_t* vd = static_cast<uint16_t*>(v_[size_t(il)].get()) + cell * n_embd_v_;
      for (int64_t j = 0; j < run * n_embd_k_; ++j) kd[j] = fp32_to_fp16(ks[j]);
      for (int64_t j = 0; j < run * n_embd_v_; ++j) vd[j] = fp32_to_fp16(vs[j]);
    } else {
      std::copy(ks, ks + run * n_embd_k_, static_cast<float*>(k_[size_t(il)].get()) + cell * n_embd_k_);
      std::copy(vs, vs + run * n_embd_v_, static_cast<float*>(v_[size_t(il)].get()) + cell * n_embd_v_);
    }
    i += run - 1;
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
