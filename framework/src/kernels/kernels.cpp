// Matmul, row lookup, elementwise ops, norms and activations (ggml numerics).
#include "tessel/kernels.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <typeinfo>
#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "float_gemm.hpp"
#include "tessel/error.hpp"
#include "tessel/half.hpp"

namespace tessel::kernels {

namespace {
void release_pages(const std::byte* p, size_t n) {
#if defined(__linux__)
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t b = (uintptr_t(p) + page - 1) & ~(page - 1), e = (uintptr_t(p) + n) & ~(page - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
#else
  (void)p;
  (void)n;
#endif
}
}  // namespace

Matrix Matrix::from(const TensorInfo& t, const CodecSet& codecs) {
  if (t.ne[2] != 1 || t.ne[3] != 1)
    throw Error("tensor " + t.name + " has shape " + t.shape_string() +
                "; expected a 2-D weight matrix");
  Matrix m;
  m.name = t.name;
  m.data = t.data.data();
  m.type = t.type;
  m.n_in = t.ne[0];
  m.n_out = t.ne[1];
  m.row_size = t.row_size();
  m.file_mapped = t.file_mapped;
  m.codec = &codecs.get(t.type, t.name);
  m.dot_codec = &codecs.get(m.codec->dot_type(), t.name + " (activation type)");
  if (t.data.size() < m.row_size * size_t(m.n_out))
    throw Error("tensor " + t.name + " holds " + std::to_string(t.data.size()) +
                " bytes; expected " + std::to_string(m.row_size * size_t(m.n_out)));
  return m;
}

namespace {
std::atomic<int64_t>& packing_us() {
  static std::atomic<int64_t> total{0};
  return total;
}
}  // namespace

double packing_ms() { return double(packing_us().load(std::memory_order_relaxed)) / 1000.0; }

const PackedMatrix* Matrix::packed(ThreadPool* pool) const {
  if (!packing || !codec) return nullptr;
  std::call_once(packing->once, [&] {
    const auto t0 = std::chrono::steady_clock::now();
    packing->packed = codec->pack(data, size_t(n_out), size_t(n_in), pool);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    packing_us().fetch_add(us.count(), std::memory_order_relaxed);
    // The packed copy replaces the mapped rows for matmul: give their pages
    // back, as llama.cpp unmaps what its repacked buffers replaced, so the
    // weights are resident once. Rows read later (get_rows on a tied
    // embedding) fault back in from the page cache.
    if (packing->packed && file_mapped) release_pages(data, row_size * size_t(n_out));
  });
  return packing->packed.get();
}

namespace {

// One matrix of a fused matmul: its packed copy (or null), where its
// quantized activation rows live, and its share of the weight bytes.
struct Part {
  const Matrix* w = nullptr;
  const PackedMatrix* p = nullptr;
  float* y = nullptr;
  const std::byte* act = nullptr;  // quantized rows (or x itself for F32 dots)
  size_t act_off = 0, act_row = 0;
  bool quantizes = false;          // the first part of its activation format
  int64_t units = 0;               // row groups (packed) or rows
  int64_t unit_rows = 1;
  int64_t byte0 = 0, unit_bytes = 0;  // where its weights start in the fused byte range
};

// Whether b can reuse a's quantized rows: same packed activation format, or
// the same codec dot type for unpacked rows.
bool same_activation(const Part& a, const Part& b) {
  if (a.p && b.p)  // the same packed layout (Q, K and V of one type)
    return typeid(*a.p) == typeid(*b.p) && a.p->act_bytes() == b.p->act_bytes();
  return !a.p && !b.p && a.w->codec->dot_type() == b.w->codec->dot_type();
}

void quantize_rows(const Part& q, const float* x, int64_t n_in, int64_t r0, int64_t r1, std::byte* base) {
  std::byte* dst = base + q.act_off;
  for (int64_t r = r0; r < r1; ++r) {
    if (q.p) q.p->quantize_act(x + r * n_in, dst + size_t(r) * q.act_row);
    else q.w->dot_codec->from_float(x + r * n_in, dst + size_t(r) * q.act_row, size_t(n_in));
  }
}

// Output rows [o_begin, o_end) of an unpacked matrix for every activation row.
void dot_range(const Part& part, int64_t n_rows, int64_t o_begin, int64_t o_end) {
  const Matrix& w = *part.w;
  const Codec* c = w.codec;
  const int64_t n_in = w.n_in, n_out = w.n_out;
  float* y = part.y;
  if (n_rows == 1) {  // decode: one pass over the weight rows
    if (o_end > o_begin)
      c->dot_weights(w.row(o_begin), w.row_size, size_t(o_end - o_begin), part.act, size_t(n_in), y + o_begin);
    return;
  }
  // Prompt: an L2-sized tile of activation rows is swept by tiles of
  // kTileOut weight rows; dot_rows takes 4 activation rows per weight row, so
  // a weight block is loaded and unpacked once per 4 activation rows (the
  // SIMD codecs do this in registers).
  const size_t act_row = part.act_row;
  const int64_t act_tile = std::max<int64_t>(4, int64_t((256u << 10) / act_row) & ~int64_t(3));
  constexpr int64_t kTileOut = 16, kRows = 4;
  for (int64_t r0 = 0; r0 < n_rows; r0 += act_tile) {
    const int64_t r1 = std::min(n_rows, r0 + act_tile);
    for (int64_t o0 = o_begin; o0 < o_end; o0 += kTileOut) {
      const int64_t o1 = std::min(o_end, o0 + kTileOut);
      for (int64_t r = r0; r < r1; r += kRows) {
        const size_t nr = size_t(std::min(kRows, r1 - r));
        const std::byte* a = part.act + size_t(r) * act_row;
        for (int64_t o = o0; o < o1; ++o)
          c->dot_rows(w.row(o), a, act_row, nr, size_t(n_in), y + r * n_out + o, size_t(n_out));
      }
    }
  }
}

// Units u of a part whose first weight byte lies in [lo, hi) of the fused
// byte range: adjacent chunks partition every part exactly.
std::pair<int64_t, int64_t> units_in(const Part& part, int64_t lo, int64_t hi) {
  auto first_at = [&](int64_t b) {
    const int64_t rel = b - part.byte0;
    if (rel <= 0) return int64_t(0);
    return std::min(part.units, (rel + part.unit_bytes - 1) / part.unit_bytes);
  };
  return {first_at(lo), first_at(hi)};
}

}  // namespace

void matmul_many(ThreadPool& pool, std::span<const MatmulTarget> targets, const float* x,
                 int64_t n_rows, Scratch& scratch) {
  constexpr size_t kMax = 8;
  if (targets.empty() || n_rows <= 0) return;
  if (targets.size() > kMax) throw Error("matmul_many: at most 8 matrices per call");
  MatmulTarget rest[kMax];  // prompt batches of float weights go to Eigen (float_gemm.cpp)
  size_t n_rest = 0;
  for (const MatmulTarget& t : targets)
    if (!float_gemm(pool, *t.w, x, n_rows, t.y)) rest[n_rest++] = t;
  if (n_rest == 0) return;
  targets = std::span<const MatmulTarget>(rest, n_rest);
  Part parts[kMax];
  const size_t n = targets.size();
  const int64_t n_in = targets[0].w->n_in;
  size_t act_bytes = 0;
  int64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    Part& part = parts[i];
    part.w = targets[i].w;
    part.y = targets[i].y;
    if (part.w->n_in != n_in)
      throw Error("matmul_many: " + part.w->name + " takes " + std::to_string(part.w->n_in) +
                  " inputs; expected " + std::to_string(n_in) + " like " + targets[0].w->name);
    part.p = part.w->packed(&pool);
    if (part.p) {
      part.act_row = part.p->act_bytes();
      part.unit_rows = int64_t(part.p->row_group());
    } else {
      const TypeId dt = part.w->codec->dot_type();
      part.act_row = dt == TypeId::F32 ? size_t(n_in) * sizeof(float) : row_bytes(dt, n_in);
    }
    part.units = (part.w->n_out + part.unit_rows - 1) / part.unit_rows;
    part.unit_bytes = std::max<int64_t>(1, int64_t(part.w->row_size) * part.unit_rows);
    part.byte0 = total;
    total += part.units * part.unit_bytes;
    if (!part.p && part.w->codec->dot_type() == TypeId::F32) continue;  // dots read x directly
    part.quantizes = true;
    for (size_t j = 0; j < i; ++j)
      if (parts[j].quantizes && same_activation(parts[j], part)) {
        part.act_off = parts[j].act_off;
        part.quantizes = false;
        break;
      }
    if (part.quantizes) {
      part.act_off = act_bytes;
      act_bytes += (part.act_row * size_t(n_rows) + 63) & ~size_t(63);
    }
  }
  if (scratch.act.size() < act_bytes) scratch.act.resize(act_bytes);
  std::byte* base = scratch.act.data();
  for (size_t i = 0; i < n; ++i) {
    const bool f32 = !parts[i].p && parts[i].w->codec->dot_type() == TypeId::F32;
    parts[i].act = f32 ? reinterpret_cast<const std::byte*>(x) : base + parts[i].act_off;
  }

  // Activation rows quantized once per format (inline for a single row:
  // parallel_for runs one chunk on the caller, no barrier).
  pool.parallel_for(n_rows, [&](int64_t b, int64_t e) {
    for (size_t i = 0; i < n; ++i)
      if (parts[i].quantizes) quantize_rows(parts[i], x, n_in, b, e, base);
  });
  // Every matrix in one parallel region, split by weight bytes so each thread
  // streams a contiguous share whatever the matrices' types.
  const bool decode = n_rows == 1;
  pool.parallel_for(total, [&](int64_t lo, int64_t hi) {
    for (size_t i = 0; i < n; ++i) {
      const Part& part = parts[i];
      const auto [u0, u1] = units_in(part, lo, hi);
      if (u0 >= u1) continue;
      const int64_t o0 = u0 * part.unit_rows, o1 = std::min(u1 * part.unit_rows, part.w->n_out);
      if (part.p) part.p->multiply(part.act, size_t(n_rows), size_t(o0), size_t(o1), part.y, size_t(part.w->n_out));
      else dot_range(part, n_rows, o0, o1);
    }
  }, decode ? int64_t(64) << 10 : int64_t(16) << 10);
}

void matmul(ThreadPool& pool, const Matrix& w, const float* x, int64_t n_rows, float* y,
            Scratch& scratch) {
  const MatmulTarget t{&w, y};
  matmul_many(pool, std::span<const MatmulTarget>(&t, 1), x, n_rows, scratch);
}

void get_rows(const Matrix& w, std::span<const TokenId> ids, float* out) {
  for (size_t i = 0; i < ids.size(); ++i) {
    const TokenId id = ids[i];
    if (id < 0 || id >= w.n_out)
      throw Error("token id " + std::to_string(id) + " is out of range for " + w.name + " (" +
                  std::to_string(w.n_out) + " rows)");
    w.codec->to_float(w.row(id), out + i * size_t(w.n_in), size_t(w.n_in));
  }
}

// Elementwise kernels: xsimd batches where the arithmetic is the same per
// element (so results equal the scalar loops), F16C + gathers for the GELU
// table, and several double accumulators for the norms' sums.
using fbatch = xsimd::batch<float>;
constexpr int64_t kLanes = int64_t(fbatch::size);

template <class Op>
void map2(const float* a, const float* b, float* y, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    op(fbatch::load_unaligned(a + i), fbatch::load_unaligned(b + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = op(a[i], b[i]);
}

void add(const float* a, const float* b, float* y, int64_t n) {
  map2(a, b, y, n, [](auto x, auto z) { return x + z; });
}
void mul(const float* a, const float* b, float* y, int64_t n) {
  map2(a, b, y, n, [](auto x, auto z) { return x * z; });
}
void scale(float* y, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) y[i] *= s;
}
void mul_row(float* y, const float* w, int64_t n_rows, int64_t n) {
  for (int64_t r = 0; r < n_rows; ++r) mul(y + r * n, w, y + r * n, n);
}
void add_row(float* y, const float* b, int64_t n_rows, int64_t n) {
  for (int64_t r = 0; r < n_rows; ++r) add(y + r * n, b, y + r * n, n);
}

namespace {
// sum of f(x[i]) in double, 8 independent accumulators (vectorised by the
// compiler; ggml sums in one double, the difference is far below float).
template <class F> double sum_double(const float* x, int64_t n, F f) {
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += double(f(x[i + k]));
  double s = 0.0;
  for (; i < n; ++i) s += double(f(x[i]));
  for (double a : acc) s += a;
  return s;
}
}  // namespace

void rms_norm(const float* x, float* y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const double sum = sum_double(xr, n, [](float v) { return v * v; });
    const float mean = float(sum / double(n));
    const float s = 1.0f / std::sqrt(mean + eps);
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) (fbatch::load_unaligned(xr + i) * s).store_unaligned(yr + i);
    for (; i < n; ++i) yr[i] = xr[i] * s;
  }
}

void layer_norm(const float* x, float* y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const float mean = float(sum_double(xr, n, [](float v) { return v; }) / double(n));
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] - mean;
    const float var = float(sum_double(yr, n, [](float v) { return v * v; }) / double(n));
    const float s = 1.0f / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i) yr[i] *= s;
  }
}

namespace {
fbatch silu(fbatch v) { return v / (fbatch(1.0f) + xsimd::exp(-v)); }
}  // namespace

// One exp for every element, vector or scalar, so a value's SiLU does not
// depend on where it sits in the batch (token-by-token equals batched).
float silu(float x) {
  alignas(64) float buf[kLanes] = {x};
  silu(fbatch::load_aligned(buf)).store_aligned(buf);
  return buf[0];
}
void silu(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) silu(fbatch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) {
    alignas(64) float buf[kLanes] = {};
    std::copy(x + i, x + n, buf);
    silu(fbatch::load_aligned(buf)).store_aligned(buf);
    std::copy(buf, buf + (n - i), y + i);
  }
}

float gelu_tanh_f32(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kCoefA = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
}

namespace {
// ggml_table_gelu_f16: GELU of every F16 value, rounded to F16; kept here as
// the float value of that F16 so a vector gather reads it directly.
const float* gelu_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i)
      t[i] = fp16_to_fp32(fp32_to_fp16(gelu_tanh_f32(fp16_to_fp32(uint16_t(i)))));
    return t;
  }();
  return table.data();
}

// y[i] = gelu(x[i]) * (up ? up[i] : 1), ggml's table path: |x| >= 10 bypasses it.
// The vector paths round to F16 with the hardware (round to nearest even, as
// fp32_to_fp16) and gather from the table, so every lane equals gelu(x[i]),
// NaN included (it looks up a NaN entry; only x <= -10 and x >= 10 bypass).
// The scalar loop was ~5 % of a batched EmbeddingGemma run on AVX2.
void gelu_mul(const float* x, const float* up, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  const float* table = gelu_table();
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512i h = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m512 g = _mm512_i32gather_ps(h, table, 4);
    g = _mm512_mask_mov_ps(g, _mm512_cmp_ps_mask(v, _mm512_set1_ps(10.0f), _CMP_GE_OQ), v);
    g = _mm512_mask_mov_ps(g, _mm512_cmp_ps_mask(v, _mm512_set1_ps(-10.0f), _CMP_LE_OQ), _mm512_setzero_ps());
    if (up) g = _mm512_mul_ps(g, _mm512_loadu_ps(up + i));
    _mm512_storeu_ps(y + i, g);
  }
#elif defined(__AVX2__) && defined(__F16C__)
  const float* table = gelu_table();
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256i h = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256 g = _mm256_i32gather_ps(table, h, 4);
    g = _mm256_blendv_ps(g, v, _mm256_cmp_ps(v, _mm256_set1_ps(10.0f), _CMP_GE_OQ));
    g = _mm256_blendv_ps(g, _mm256_setzero_ps(), _mm256_cmp_ps(v, _mm256_set1_ps(-10.0f), _CMP_LE_OQ));
    if (up) g = _mm256_mul_ps(g, _mm256_loadu_ps(up + i));
    _mm256_storeu_ps(y + i, g);
  }
#endif
  for (; i < n; ++i) {
    const float g = gelu(x[i]);
    y[i] = up ? g * up[i] : g;
  }
}
}  // namespace

float gelu(float x) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  return gelu_table()[fp32_to_fp16(x)];
}
void gelu(const float* x, float* y, int64_t n) { gelu_mul(x, nullptr, y, n); }
void swiglu(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 256) {  // y may alias gate or up
    const int64_t m = std::min<int64_t>(256, n - i);
    alignas(64) float g[256];
    silu(gate + i, g, m);
    mul(g, up + i, y + i, m);
  }
}
void geglu(const float* gate, const float* up, float* y, int64_t n) { gelu_mul(gate, up, y, n); }

}  // namespace tessel::kernels
