// RoPE, masks, softmax and attention (ggml numerics, with and without flash
// attention). The vector kernels live in attention_simd.cpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/kernels.hpp"
#include "kernels/attention_simd.hpp"

namespace tessel::kernels {

namespace {

// ggml's YaRN correction range: the dims whose wavelength crosses n_ctx_orig.
float yarn_corr_dim(int64_t n_dims, int64_t n_ctx_orig, float n_rot, float base) {
  return float(n_dims) * std::log(float(n_ctx_orig) / (n_rot * 2.0f * float(M_PI))) /
         (2.0f * std::log(base));
}

float yarn_ramp(float low, float high, int64_t i0) {
  const float y = (float(i0 / 2) - low) / std::max(0.001f, high - low);
  return 1.0f - std::min(1.0f, std::max(0.0f, y));
}

// cos/sin pairs for one position, theta advanced by repeated multiplication
// in float as ggml_rope_cache_init does.
void rope_cache(float pos, const RopeParams& p, float theta_scale, const float corr[2], float* cache) {
  float theta = pos;
  for (int64_t i0 = 0; i0 < p.n_dims; i0 += 2) {
    const float ff = p.freq_factors ? p.freq_factors[i0 / 2] : 1.0f;
    const float theta_extrap = theta / ff;
    const float theta_interp = p.freq_scale * theta_extrap;
    float t = theta_interp;
    float mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) {
      const float mix = yarn_ramp(corr[0], corr[1], i0) * p.ext_factor;
      t = theta_interp * (1 - mix) + theta_extrap * mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
    }
    cache[i0] = std::cos(t) * mscale;
    cache[i0 + 1] = std::sin(t) * mscale;
    theta *= theta_scale;
  }
}

// ------------------------------------------------------------- attention --
// Work is split into tiles: one KV head g, a block of query tokens and some
// of g's query heads. Every query of a tile reads the same K and V rows, so
// the tile converts them to float once (K transposed, so K·Q runs over
// vectors of cells), and the micro-kernels handle attn::kMaxQueries queries
// per pass. Cells outside a row's visible range [lo, hi) are skipped: the
// mask is -inf there, so they would only add exact zeros.

struct VisibleRange {
  int64_t lo = 0, hi = 0;  // empty when lo >= hi
};

struct AttnJob {
  const float* q;
  int64_t n_tokens;
  const KvView& kv;
  const float* mask;
  const AttnParams& p;
  float* out;
  const AttnDebug* debug;  // null unless a copy is wanted (non-flash only)
  std::vector<VisibleRange>& ranges;  // per token
  bool f16;
  int64_t group;  // query heads per KV head
};

// Per token, the cells outside of which the mask row is -inf. Full rows
// when there is no mask or AttnDebug wants every cell's K·Q.
void find_visible_ranges(AttnJob& job, bool full_rows) {
  const int64_t n_kv = job.kv.n_kv;
  const float ninf = -std::numeric_limits<float>::infinity();
  job.ranges.assign(size_t(job.n_tokens), VisibleRange{0, n_kv});
  if (!job.mask || full_rows) return;
  for (int64_t t = 0; t < job.n_tokens; ++t) {
    const float* m = job.mask + t * n_kv;
    int64_t lo = 0, hi = n_kv;
    while (lo < hi && m[lo] == ninf) ++lo;
    while (hi > lo && m[hi - 1] == ninf) --hi;
    job.ranges[size_t(t)] = {lo, hi};
  }
}

// Per-thread tile buffers, kept between calls so decode steps don't allocate.
// They only grow: resize() to a larger size would zero-fill every time the
// tile's size changes.
void reserve(attn::FloatBuf& b, int64_t n) {
  if (b.size() < size_t(n)) b.resize(size_t(n));
}

struct TileBuffers {
  attn::FloatBuf kt;    // K rows of the tile, transposed: [head_dim][ld]
  attn::FloatBuf v;     // V rows of an F16 cache as float: [cells][head_dim]
  attn::FloatBuf s;     // scores / probabilities: [kMaxQueries][ld]
  attn::FloatBuf q;     // the queries of one pass: [kMaxQueries][head_dim]
  attn::FloatBuf work;  // flash_row's rows
};

// Tokens [t0, t1) whose visible ranges overlap, heads [h0, h1) of KV head g.
void run_span(const AttnJob& job, int64_t g, int64_t t0, int64_t t1, int64_t h0, int64_t h1) {
  thread_local TileBuffers buf;
  const AttnParams& p = job.p;
  const KvView& kv = job.kv;
  const int64_t hd = p.head_dim, n_kv = kv.n_kv;
  const int64_t n_heads = h1 - h0, n_queries = (t1 - t0) * n_heads;
  int64_t L = n_kv, R = 0;  // the cells any query of the tile sees
  for (int64_t t = t0; t < t1; ++t) {
    const VisibleRange r = job.ranges[size_t(t)];
    if (r.lo < r.hi) L = std::min(L, r.lo), R = std::max(R, r.hi);
  }
  // Ranges start at whole vectors of cells (the cells before are masked): the
  // softmax adds its terms lane by lane, so a cell's lane must not depend on
  // which other rows share the tile or pass, or a row's sum would be
  // associated differently beside other sequences than alone.
  L = L / attn::kLanes * attn::kLanes;
  const int64_t n_cells = std::max<int64_t>(R - L, 0);
  const int64_t ld = attn::round_up(n_cells, attn::kLanes);
  const float* v_rows = nullptr;
  int64_t v_stride = 0;
  if (n_cells > 0) {
    reserve(buf.kt, hd * ld);
    const size_t k_off = size_t(L * kv.k_stride + g * hd), v_off = size_t(L * kv.v_stride + g * hd);
    const void* k_rows = job.f16 ? static_cast<const void*>(static_cast<const uint16_t*>(kv.k) + k_off)
                                 : static_cast<const void*>(static_cast<const float*>(kv.k) + k_off);
    attn::transpose_rows(k_rows, job.f16, kv.k_stride, n_cells, hd, buf.kt.data(), ld);
    if (job.f16) {
      reserve(buf.v, n_cells * hd);
      const auto* V = static_cast<const uint16_t*>(kv.v) + v_off;
      for (int64_t c = 0; c < n_cells; ++c) attn::f16_to_f32(V + c * kv.v_stride, buf.v.data() + c * hd, hd);
      v_rows = buf.v.data();
      v_stride = hd;
    } else {
      v_rows = static_cast<const float*>(kv.v) + v_off;
      v_stride = kv.v_stride;
    }
    reserve(buf.s, attn::kMaxQueries * ld);
    reserve(buf.q, attn::kMaxQueries * hd);
  }
  // Queries in token-major order: with GQA the passes take heads of one
  // token, which share their visible range.
  for (int64_t i0 = 0; i0 < n_queries; i0 += attn::kMaxQueries) {
    const int nq = int(std::min<int64_t>(attn::kMaxQueries, n_queries - i0));
    int64_t tq[attn::kMaxQueries], hq[attn::kMaxQueries];
    float* outs[attn::kMaxQueries];
    int64_t a = n_kv, b = 0;  // the pass's cells: the union of its rows' ranges
    for (int k = 0; k < nq; ++k) {
      tq[k] = t0 + (i0 + k) / n_heads;
      hq[k] = g * job.group + h0 + (i0 + k) % n_heads;
      outs[k] = job.out + (tq[k] * p.n_head + hq[k]) * hd;
      const VisibleRange r = job.ranges[size_t(tq[k])];
      if (r.lo < r.hi) a = std::min(a, r.lo), b = std::max(b, r.hi);
    }
    if (a >= b) {  // every cell masked: ggml's zeros
      for (int k = 0; k < nq; ++k) std::fill(outs[k], outs[k] + hd, 0.0f);
      continue;
    }
    a = a / attn::kLanes * attn::kLanes;  // still >= L (see above)
    // K·Q: ggml converts Q to the cache type before the F16 dot.
    for (int k = 0; k < nq; ++k) {
      float* qr = buf.q.data() + k * hd;
      const float* src = job.q + (tq[k] * p.n_head + hq[k]) * hd;
      std::copy(src, src + hd, qr);
      if (job.f16) attn::round_to_f16(qr, hd);
    }
    const int64_t c0 = a - L, c1 = b - L;
    attn::dot_columns(buf.q.data(), nq, hd, buf.kt.data(), ld, c0 / attn::kLanes * attn::kLanes, c1,
                      buf.s.data());
    for (int k = 0; k < nq; ++k) {
      float* s = buf.s.data() + k * ld + c0;
      const float* m = job.mask ? job.mask + tq[k] * n_kv + a : nullptr;
      if (p.flash) {
        attn::flash_row(s, m, b - a, p.scale, p.softcap, v_rows + c0 * v_stride, v_stride, hd, job.f16,
                        outs[k], buf.work);
        continue;
      }
      const size_t dbg_row = size_t((hq[k] * job.n_tokens + tq[k]) * n_kv + a);
      if (job.debug && job.debug->kq) std::copy(s, s + (b - a), job.debug->kq + dbg_row);
      if (p.softcap > 0.0f)
        for (int64_t j = 0; j < b - a; ++j) s[j] = std::tanh(s[j] / p.softcap) * p.softcap;
      // V·P: the probabilities are rounded to F16 for an F16 cache (after
      // the debug copy, which holds them unrounded as ggml's kq_soft_max).
      const bool copy_probs = job.debug && job.debug->kq_soft_max;
      attn::soft_max_row(s, b - a, m, p.scale, job.f16 && !copy_probs);
      if (copy_probs) {
        std::copy(s, s + (b - a), job.debug->kq_soft_max + dbg_row);
        if (job.f16) attn::round_to_f16(s, b - a);
      }
    }
    if (!p.flash) attn::weighted_rows(buf.s.data(), ld, nq, v_rows, v_stride, c0, c1, hd, outs);
  }
}

// Each sequence has its own share of the cache, so the tokens of different
// sequences see disjoint cells: a tile runs one span per run of overlapping
// ranges, and a decode step over N sequences converts and transposes their N
// ranges, not every cell between the first and the last (which made K
// transposition half of a two-slot server's time). The results don't change:
// a row's sums depend only on its own range (see run_span).
void run_tile(const AttnJob& job, int64_t g, int64_t t0, int64_t t1, int64_t h0, int64_t h1) {
  int64_t first = t0, L = 0, R = 0;
  bool open = false;
  for (int64_t t = t0; t < t1; ++t) {
    const VisibleRange r = job.ranges[size_t(t)];
    if (r.lo >= r.hi) continue;  // a fully masked row goes with any span
    const int64_t lo = r.lo / attn::kLanes * attn::kLanes;
    if (open && (lo >= R || r.hi <= L)) {
      run_span(job, g, first, t, h0, h1);
      first = t;
      open = false;
    }
    L = open ? std::min(L, lo) : lo;
    R = open ? std::max(R, r.hi) : r.hi;
    open = true;
  }
  run_span(job, g, first, t1, h0, h1);
}
}  // namespace

void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos,
          const RopeParams& p) {
  if (p.n_dims <= 0 || p.n_dims > head_dim || p.n_dims % 2 != 0)
    throw Error("rope: rotated dims " + std::to_string(p.n_dims) +
                " must be even and within the head size " + std::to_string(head_dim));
  const float theta_scale = std::pow(p.freq_base, -2.0f / float(p.n_dims));
  float corr[2] = {0.0f, float(p.n_dims - 1)};
  if (p.ext_factor != 0.0f && p.n_ctx_orig > 0) {
    const float start = std::floor(yarn_corr_dim(p.n_dims, p.n_ctx_orig, p.beta_fast, p.freq_base));
    const float end = std::ceil(yarn_corr_dim(p.n_dims, p.n_ctx_orig, p.beta_slow, p.freq_base));
    corr[0] = std::max(0.0f, start);
    corr[1] = std::min(float(p.n_dims - 1), end);
  }
  thread_local std::vector<float> cache;  // reused: no allocation per decode step
  cache.resize(size_t(p.n_dims));
  const int64_t half = p.n_dims / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    rope_cache(float(pos[t]), p, theta_scale, corr, cache.data());
    for (int64_t h = 0; h < n_head; ++h) {
      float* v = x + (t * n_head + h) * head_dim;
      for (int64_t i0 = 0; i0 < p.n_dims; i0 += 2) {
        const float c = cache[i0], s = cache[i0 + 1];
        const int64_t a = p.neox ? i0 / 2 : i0;
        const int64_t b = p.neox ? i0 / 2 + half : i0 + 1;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}

void build_mask(std::span<const int32_t> cell_pos, std::span<const int32_t> cell_seq,
                std::span<const int32_t> tok_pos, std::span<const int32_t> tok_seq,
                int64_t n_kv, const MaskParams& p, float* mask) {
  const float ninf = -std::numeric_limits<float>::infinity();
  const int64_t n_cells = int64_t(std::min(cell_pos.size(), cell_seq.size()));
  for (size_t t = 0; t < tok_pos.size(); ++t) {
    float* m = mask + t * size_t(n_kv);
    const int32_t p1 = tok_pos[t];
    for (int64_t j = 0; j < n_kv; ++j) {
      bool visible = j < n_cells && cell_pos[j] >= 0 && cell_seq[j] == tok_seq[t];
      if (visible) {
        const int32_t p0 = cell_pos[j];
        if (p.causal && p0 > p1) visible = false;
        if (p.swa == MaskParams::Swa::standard && p1 - p0 >= p.window) visible = false;
        if (p.swa == MaskParams::Swa::symmetric && std::abs(p1 - p0) > p.window / 2) visible = false;
      }
      m[j] = visible ? 0.0f : ninf;
    }
  }
}

void soft_max(float* x, int64_t n, const float* mask, float scale) {
  attn::soft_max_row(x, n, mask, scale);
}

void attention(ThreadPool& pool, const float* q, int64_t n_tokens, const KvView& kv,
               const float* mask, const AttnParams& p, float* out, Scratch& scratch,
               const AttnDebug* debug) {
  (void)scratch;  // tiles keep per-thread buffers instead
  if (p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0)
    throw Error("attention: " + std::to_string(p.n_head) + " heads can't share " +
                std::to_string(p.n_head_kv) + " KV heads");
  if (kv.type != TypeId::F16 && kv.type != TypeId::F32)
    throw Error("attention: KV type " + type_name(kv.type) + " is not supported (F16 or F32)");
  if (n_tokens <= 0 || p.n_head <= 0 || p.head_dim <= 0) return;
  const bool want_debug = !p.flash && debug && (debug->kq || debug->kq_soft_max);
  thread_local std::vector<VisibleRange> ranges;  // reused: decode steps don't allocate
  AttnJob job{q, n_tokens, kv, mask, p, out, want_debug ? debug : nullptr, ranges,
              kv.type == TypeId::F16, p.n_head / p.n_head_kv};
  find_visible_ranges(job, want_debug);

  // Tiles: about 256 queries per token block (one token for decode), and
  // while there are fewer tiles than 2 per thread the heads of a group are
  // split too, so decode keeps every thread busy.
  const int64_t threads = pool.size();
  const int64_t block = std::max<int64_t>(1, 256 / job.group);
  const int64_t n_blocks = (n_tokens + block - 1) / block;
  int64_t heads_per_tile = job.group;
  while (p.n_head_kv * n_blocks * ((job.group + heads_per_tile - 1) / heads_per_tile) < 2 * threads &&
         heads_per_tile > 1)
    heads_per_tile = (heads_per_tile + 1) / 2;
  const int64_t head_splits = (job.group + heads_per_tile - 1) / heads_per_tile;
  const int64_t per_block = p.n_head_kv * head_splits, n_tiles = n_blocks * per_block;
  // Threads take tiles in turn, the last token blocks first: with a causal
  // mask they see the most cells, so the cheap ones fill in at the end.
  std::atomic<int64_t> next{0};
  pool.parallel_for(std::min(threads, n_tiles), [&](int64_t, int64_t) {
    for (int64_t i; (i = next.fetch_add(1)) < n_tiles;) {
      const int64_t blk = n_blocks - 1 - i / per_block, g = i % per_block / head_splits;
      const int64_t h0 = i % head_splits * heads_per_tile;
      run_tile(job, g, blk * block, std::min(n_tokens, (blk + 1) * block), h0,
               std::min(job.group, h0 + heads_per_tile));
    }
  });
}

void heads_first(const float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, float* y) {
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t h = 0; h < n_head; ++h)
      std::copy(x + (t * n_head + h) * head_dim, x + (t * n_head + h + 1) * head_dim,
                y + (h * n_tokens + t) * head_dim);
}

}  // namespace tessel::kernels
