// Decode matrix-vector speed per weight type, one thread (CPU time), no model needed:
// how many GB/s of weights the decode kernel (packed where the CPU has it,
// else the SIMD row dots) turns into outputs. Compare with the read
// bandwidth `tessel bench --roofline` measures; kernels that fall well short
// of it are compute-bound and worth optimising.
//   matvec-bench [n_out n_in [seconds [copies [rows]]]]   (default: 5632 x 2048, 1 s per type,
//   copies filling 256 MiB; copies = 1 with a small matrix measures the kernel from cache)
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "ggml_codecs.hpp"
#include "packed.hpp"
#include "tessel/codec.hpp"
#include "tessel/types.hpp"

using namespace tessel;

int main(int argc, char** argv) {
  const size_t n_out = argc > 2 ? size_t(std::atol(argv[1])) : 5632;
  const size_t n_in = argc > 2 ? size_t(std::atol(argv[2])) : 2048;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 1.0;
  const size_t n_act = argc > 5 ? size_t(std::atol(argv[5])) : 1;  // > 1: a prompt batch
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> f(n_out * n_in), x(n_in * n_act), y(n_out * n_act);
  for (auto& v : f) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  std::printf("| type | path | GB/s | us per multiply (%zu x %zu, %zu rows) | GOPS |\n|---|---|---:|---:|---:|\n",
              n_out, n_in, n_act);
  for (TypeId t : {TypeId::Q8_0, TypeId::Q4_0, TypeId::Q4_K, TypeId::Q5_K, TypeId::Q6_K, TypeId::F16}) {
    const Codec* c = ggml::find_codec(t);
    const Codec* dc = ggml::find_codec(c->dot_type());
    const size_t row = row_bytes(t, int64_t(n_in));
    std::vector<std::byte> w(row * n_out);
    for (size_t o = 0; o < n_out; ++o) c->from_float(f.data() + o * n_in, w.data() + o * row, n_in);
    // Enough copies to stream from memory, not from the last-level cache.
    const size_t copies = argc > 4 ? size_t(std::atol(argv[4])) : std::max<size_t>(1, (size_t(256) << 20) / w.size());
    std::vector<std::vector<std::byte>> plain;
    std::vector<std::unique_ptr<PackedMatrix>> packs;
    for (size_t i = 0; i < copies; ++i) {
      if (auto p = c->pack(w.data(), n_out, n_in)) packs.push_back(std::move(p));
      else plain.push_back(w);
    }
    const bool packed = !packs.empty();
    const size_t ab = packed ? packs[0]->act_bytes() : row_bytes(c->dot_type(), int64_t(n_in));
    std::vector<std::byte> act(ab * n_act);
    size_t next = 0;
    auto once = [&] {
      const size_t i = next++ % copies;
      if (packed) {
        for (size_t r = 0; r < n_act; ++r) packs[i]->quantize_act(x.data() + r * n_in, act.data() + r * ab);
        packs[i]->multiply(act.data(), n_act, 0, n_out, y.data(), n_out);
      } else {
        for (size_t r = 0; r < n_act; ++r) dc->from_float(x.data() + r * n_in, act.data() + r * ab, n_in);
        const std::byte* wi = plain[i].data();
        for (size_t o = 0; o < n_out; ++o)  // 4 activation rows per weight row, as matmul's prompt path
          for (size_t r = 0; r < n_act; r += 4)
            c->dot_rows(wi + o * row, act.data() + r * ab, ab, std::min<size_t>(4, n_act - r), n_in,
                        y.data() + r * n_out + o, n_out);
      }
    };
    once();
    // CPU time of this thread, not wall time: on a shared machine the
    // process is descheduled part of the time, which says nothing of the kernel.
    auto cpu_s = [] {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
    };
    size_t reps = 0;
    const double t0 = cpu_s();
    double el = 0;
    do {
      once();
      ++reps;
      el = cpu_s() - t0;
    } while (el < seconds);
    const double us = el * 1e6 / double(reps);
    std::printf("| %s | %s | %.1f | %.1f | %.1f |\n", type_name(t).c_str(), packed ? "packed" : "row dots",
                double(w.size()) / (us * 1e3), us, 2.0 * double(n_out * n_in * n_act) / (us * 1e3));
  }
  return 0;
}
