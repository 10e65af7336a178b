// Float GEMM for prompt batches: tessel's matmul (the F32/F16/BF16 codecs'
// SIMD dot_rows kernels) against Eigen's GEMM on the same weights, split over
// the same thread pool by output rows. Issue #17 asked to put Eigen where it
// serves and keep it only where it is at least as fast; this measures that.
//   build/bin/float-gemm-bench [THREADS]      (prints a markdown table)
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <cstdio>
#include <random>
#include <vector>

#include "tessel/codec.hpp"
#include "tessel/half.hpp"
#include "tessel/kernels.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/threadpool.hpp"

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

double seconds_of(const std::function<void()>& fn) {
  fn();  // warm up (packing, page faults)
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// y[r, o] = x[r, :] . W[o, :], W in float (F16/BF16 rows widened per call, as
// an Eigen path would have to).
void eigen_matmul(tessel::ThreadPool& pool, const tessel::kernels::Matrix& w, const float* x, int64_t n_rows,
                  float* y, std::vector<float>& wf) {
  const int64_t n_in = w.n_in, n_out = w.n_out;
  const float* wp = reinterpret_cast<const float*>(w.data);
  if (w.type != tessel::TypeId::F32) {
    wf.resize(size_t(n_in * n_out));
    pool.parallel_for(n_out, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) w.codec->to_float(w.row(o), wf.data() + o * n_in, size_t(n_in));
    });
    wp = wf.data();
  }
  Eigen::Map<const RowMajor> X(x, n_rows, n_in);
  Eigen::Map<const RowMajor> W(wp, n_out, n_in);
  Eigen::Map<RowMajor> Y(y, n_rows, n_out);
  pool.parallel_for(n_out, [&](int64_t b, int64_t e) {
    Y.middleCols(b, e - b).noalias() = X * W.middleRows(b, e - b).transpose();
  }, 64);
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace tessel;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  auto reg = make_registry();
  auto codecs = load_codecs(*reg);
  ThreadPool pool(threads);
  kernels::Scratch scratch;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 0.02f);

  struct Shape { const char* what; int64_t rows, n_in, n_out; };
  const Shape shapes[] = {{"tinyllama q/o proj, pp512", 512, 2048, 2048},
                          {"tinyllama ffn_up, pp512", 512, 2048, 5632},
                          {"tinyllama ffn_down, pp512", 512, 5632, 2048},
                          {"pp64 2048x2048", 64, 2048, 2048},
                          {"clip 768 (ViT-B), 196 patches", 196, 768, 3072}};
  std::printf("threads %d\n\n| weights | shape | tessel GFLOP/s | Eigen GFLOP/s | Eigen / tessel | max rel diff |\n"
              "|---|---|---:|---:|---:|---:|\n", threads);
  for (TypeId type : {TypeId::F32, TypeId::F16, TypeId::BF16}) {
    const Codec& c = codecs->get(type);
    for (const Shape& s : shapes) {
      std::vector<float> wsrc(size_t(s.n_in * s.n_out)), x(size_t(s.rows * s.n_in));
      for (float& v : wsrc) v = nd(rng);
      for (float& v : x) v = nd(rng) * 50;
      const size_t row_bytes = tessel::row_bytes(type, s.n_in);
      std::vector<std::byte> wbytes(row_bytes * size_t(s.n_out));
      for (int64_t o = 0; o < s.n_out; ++o)
        c.from_float(wsrc.data() + o * s.n_in, wbytes.data() + size_t(o) * row_bytes, size_t(s.n_in));
      kernels::Matrix m;
      m.name = "bench";
      m.data = wbytes.data();
      m.type = type;
      m.n_in = s.n_in;
      m.n_out = s.n_out;
      m.row_size = row_bytes;
      m.codec = &c;
      m.dot_codec = &codecs->get(c.dot_type());
      std::vector<float> y1(size_t(s.rows * s.n_out)), y2(y1.size()), wf;
      const double t_ours = seconds_of([&] { kernels::matmul(pool, m, x.data(), s.rows, y1.data(), scratch); });
      const double t_eigen = seconds_of([&] { eigen_matmul(pool, m, x.data(), s.rows, y2.data(), wf); });
      double diff = 0, scale = 0;
      for (size_t i = 0; i < y1.size(); ++i) {
        diff = std::max(diff, double(std::fabs(y1[i] - y2[i])));
        scale = std::max(scale, double(std::fabs(y1[i])));
      }
      const double flop = 2.0 * double(s.rows) * double(s.n_in) * double(s.n_out);
      std::printf("| %s | %s | %.1f | %.1f | %.2f | %.1e |\n", type_name(type).c_str(), s.what, flop / t_ours / 1e9,
                  flop / t_eigen / 1e9, t_ours / t_eigen, scale > 0 ? diff / scale : 0.0);
      std::fflush(stdout);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "float-gemm-bench: error: %s\n", e.what());
  return 1;
}
