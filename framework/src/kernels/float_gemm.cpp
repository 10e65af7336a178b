// Eigen's GEMM for float weights in prompt batches (docs/decisions.md, "Eigen
// for float GEMM"), measured against the dot kernels with
// bench/float_gemm_bench.cpp: F32 and BF16 from 64 rows, where it was at
// least as fast. Off for now (g_mode below).
//
// Numerics stay ggml's: F16/BF16 weights multiply activations rounded to
// F16/BF16 (the codec's dot_type, as ggml does), and a product of two such
// values is exact in float, so only the order of the float sums differs from
// the dot kernels (~1e-7 relative).
#define EIGEN_DONT_PARALLELIZE  // the pool splits the work; Eigen runs single-threaded per chunk
#include "float_gemm.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <vector>

namespace tessel::kernels {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;

// Off: measured faster, but not switched on yet (docs/decisions.md, "Eigen
// for float GEMM: measured by CPU time, still off"): a row's result would
// depend on the rows sharing its batch, and forced on, the stories260K layer
// dump drifted in the full llama test binary. Only the benchmark turns it on.
std::atomic<FloatGemm> g_mode{FloatGemm::Off};

// F16 only on request: Eigen was not reliably faster there (decisions.md).
bool eigen_type(TypeId t) {
  const FloatGemm mode = g_mode.load(std::memory_order_relaxed);
  if (mode == FloatGemm::Off) return false;
  return t == TypeId::F32 || t == TypeId::BF16 || (mode == FloatGemm::AllFloat && t == TypeId::F16);
}

}  // namespace

void set_float_gemm(FloatGemm mode) { g_mode = mode; }

bool float_gemm(ThreadPool& pool, const Matrix& w, const float* x, int64_t n_rows, float* y) {
  if (n_rows < kFloatGemmMinRows || !eigen_type(w.type) || !w.codec || !w.dot_codec) return false;
  if (w.packed(&pool)) return false;  // a packed layout is the codec's own faster path
  const int64_t n_in = w.n_in, n_out = w.n_out;

  // Activations as the dot kernels see them: F32 as is, else rounded to the dot type.
  std::vector<float> rounded;
  const float* xs = x;
  if (w.codec->dot_type() != TypeId::F32) {
    rounded.resize(size_t(n_rows * n_in));
    const size_t act_row = row_bytes(w.codec->dot_type(), n_in);
    pool.parallel_for(n_rows, [&](int64_t b, int64_t e) {
      std::vector<std::byte> tmp(act_row);
      for (int64_t r = b; r < e; ++r) {
        w.dot_codec->from_float(x + r * n_in, tmp.data(), size_t(n_in));
        w.dot_codec->to_float(tmp.data(), rounded.data() + r * n_in, size_t(n_in));
      }
    });
    xs = rounded.data();
  }
  const ConstMap X(xs, n_rows, n_in, Eigen::OuterStride<>(n_in));
  Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> Y(y, n_rows, n_out, Eigen::OuterStride<>(n_out));

  if (w.type == TypeId::F32) {
    const ConstMap W(reinterpret_cast<const float*>(w.data), n_out, n_in,
                     Eigen::OuterStride<>(int64_t(w.row_size / sizeof(float))));
    pool.parallel_for(n_out, [&](int64_t b, int64_t e) {
      Y.middleCols(b, e - b).noalias() = X * W.middleRows(b, e - b).transpose();
    }, 64);
    return true;
  }
  // 16-bit weights: each thread widens blocks of its rows to float (cache-sized), then multiplies.
  pool.parallel_for(n_out, [&](int64_t b, int64_t e) {
    constexpr int64_t kBlock = 64;
    std::vector<float> wf(size_t(std::min(kBlock, e - b) * n_in));
    for (int64_t o = b; o < e; o += kBlock) {
      const int64_t rows = std::min(kBlock, e - o);
      for (int64_t i = 0; i < rows; ++i) w.codec->to_float(w.row(o + i), wf.data() + i * n_in, size_t(n_in));
      const ConstMap W(wf.data(), rows, n_in, Eigen::OuterStride<>(n_in));
      Y.middleCols(o, rows).noalias() = X * W.transpose();
    }
  }, 64);
  return true;
}

}  // namespace tessel::kernels
