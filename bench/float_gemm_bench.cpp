// Float weights in prompt batches, three ways on the same weights and
// activations: the codec's packed layout (packed_float_avx2.cpp, what matmul
// uses on AVX2), the row dots (simd_dots_float.hpp, no packing) and Eigen's
// GEMM (float_gemm.cpp, FloatGemm::AllFloat; off in production). Times are
// process CPU time (the machine is shared: wall time measures the
// neighbours), best of 3; with one thread that is the kernel's own time.
//   build/bin/float-gemm-bench [THREADS]      (prints a markdown table)
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "float_gemm.hpp"
#include "tessel/codec.hpp"
#include "tessel/kernels.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/threadpool.hpp"

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double seconds_of(const std::function<void()>& fn) {
  fn();  // warm up (page faults, scratch growth)
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const double t0 = cpu_seconds();
    fn();
    best = std::min(best, cpu_seconds() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace tessel;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  auto reg = make_registry();
  auto codecs = load_codecs(*reg);
  ThreadPool pool(threads);
  kernels::Scratch scratch;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 0.02f);

  struct Shape { const char* what; int64_t rows, n_in, n_out; };
  const Shape shapes[] = {{"q/o 2048x2048, pp512", 512, 2048, 2048},
                          {"ffn_up 2048->5632, pp512", 512, 2048, 5632},
                          {"ffn_down 5632->2048, pp512", 512, 5632, 2048},
                          {"2048x2048, pp64", 64, 2048, 2048},
                          {"2048x2048, 16 rows", 16, 2048, 2048},
                          {"ViT-B 768->3072, 196 patches", 196, 768, 3072}};
  std::printf("threads %d, process CPU time, best of 3\n\n"
              "| weights | shape | packed ms | GFLOP/s | row dots ms | Eigen ms | dots / packed | Eigen / packed | max rel diff |\n"
              "|---|---|---:|---:|---:|---:|---:|---:|---:|\n", threads);
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
      kernels::Matrix rows = m;  // no packed copy: the row dots, or Eigen
      rows.packing = nullptr;
      std::vector<float> y1(size_t(s.rows * s.n_out)), y2(y1.size()), y3(y1.size());
      kernels::set_float_gemm(kernels::FloatGemm::Off);
      const double t_packed = seconds_of([&] { kernels::matmul(pool, m, x.data(), s.rows, y1.data(), scratch); });
      const double t_dots = seconds_of([&] { kernels::matmul(pool, rows, x.data(), s.rows, y2.data(), scratch); });
      kernels::set_float_gemm(kernels::FloatGemm::AllFloat);
      const double t_eigen = seconds_of([&] { kernels::matmul(pool, rows, x.data(), s.rows, y3.data(), scratch); });
      kernels::set_float_gemm(kernels::FloatGemm::Off);
      double diff = 0, scale = 0;
      for (size_t i = 0; i < y1.size(); ++i) {
        diff = std::max({diff, double(std::fabs(y1[i] - y2[i])), double(std::fabs(y1[i] - y3[i]))});
        scale = std::max(scale, double(std::fabs(y1[i])));
      }
      const double flops = 2.0 * double(s.rows) * double(s.n_in) * double(s.n_out);
      std::printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.1e |\n", type_name(type).c_str(), s.what,
                  t_packed * 1e3, flops / t_packed / 1e9, t_dots * 1e3, t_eigen * 1e3, t_dots / t_packed,
                  t_eigen / t_packed, scale > 0 ? diff / scale : 0.0);
      std::fflush(stdout);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "float-gemm-bench: error: %s\n", e.what());
  return 1;
}
