// Core kernels against straightforward reference loops (double precision
// where ggml accumulates in double, exact where ggml's result is exact).
#include <atomic>
#include <mutex>
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <thread>
#include <cmath>
#include <limits>
#include <random>

#include "ggml_codecs.hpp"
#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/kernels.hpp"

using namespace tessel;
namespace k = tessel::kernels;

namespace {

std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A weight matrix encoded by the ggml codec of `type`, with its storage.
struct EncodedMatrix {
  std::vector<std::byte> bytes;
  std::vector<float> decoded;  // what the codec decodes back
  k::Matrix m;
};

EncodedMatrix encode(TypeId type, const std::vector<float>& w, int64_t n_in, int64_t n_out) {
  EncodedMatrix e;
  const Codec* c = ggml::find_codec(type);
  REQUIRE(c != nullptr);
  const size_t rb = row_bytes(type, n_in);
  e.bytes.resize(rb * size_t(n_out));
  e.decoded.resize(w.size());
  for (int64_t r = 0; r < n_out; ++r) {
    c->from_float(w.data() + r * n_in, e.bytes.data() + r * rb, size_t(n_in));
    c->to_float(e.bytes.data() + r * rb, e.decoded.data() + r * n_in, size_t(n_in));
  }
  e.m.name = "test.weight";
  e.m.data = e.bytes.data();
  e.m.type = type;
  e.m.n_in = n_in;
  e.m.n_out = n_out;
  e.m.row_size = rb;
  e.m.codec = c;
  e.m.dot_codec = ggml::find_codec(c->dot_type());
  REQUIRE(e.m.dot_codec != nullptr);
  return e;
}

}  // namespace

TEST_CASE("thread pool covers every index exactly once") {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    REQUIRE(pool.size() == threads);
    for (int64_t n : {1, 2, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (int rep = 0; rep < 3; ++rep)
        pool.parallel_for(n, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
        });
      for (auto& h : hits) REQUIRE(h.load() == 3);
    }
  }
}

TEST_CASE("thread pool: the caller runs chunks a busy worker has not claimed") {
  ThreadPool pool(3);
  // Every chunk runs exactly once across thousands of back-to-back tiny jobs:
  // chunks are claimed, and a late worker must never claim a chunk of a
  // newer job while holding the previous job's callable.
  for (int rep = 0; rep < 5000; ++rep) {
    std::array<std::atomic<int>, 8> hits{};
    pool.parallel_for(8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
    });
    for (auto& h : hits) REQUIRE(h.load() == 1);
  }
  // Busy workers: a chunk a worker runs holds it until the caller has run a
  // chunk, so the job only finishes because the caller claims what the
  // workers have not (10 s cap, so a broken pool fails instead of hanging).
  // Asserting on_caller >= 1 without holding the workers was racy: two
  // quick workers can claim all three chunks first (seen once under ctest -j 2).
  std::atomic<int> ran{0};
  const auto caller = std::this_thread::get_id();
  std::atomic<int> on_caller{0};
  pool.parallel_for(3, [&](int64_t b, int64_t e) {
    if (std::this_thread::get_id() == caller) {
      on_caller += int(e - b);
    } else {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (on_caller.load() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    }
    ran += int(e - b);
  });
  REQUIRE(ran == 3);
  REQUIRE(on_caller >= 1);
}

TEST_CASE("thread pool rethrows a chunk's exception and stays usable") {
  ThreadPool pool(2);
  REQUIRE_THROWS_WITH(pool.parallel_for(10, [](int64_t b, int64_t) {
                        if (b > 0) throw tessel::Error("chunk failed");
                      }),
                      "chunk failed");
  int64_t total = 0;
  std::mutex mu;
  pool.parallel_for(10, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(mu);
    total += e - b;
  });
  REQUIRE(total == 10);
}

TEST_CASE("matmul of F32 weights equals the reference loop") {
  const int64_t n_in = 64, n_out = 37, n_rows = 5;
  auto w = randn(size_t(n_in * n_out), 1), x = randn(size_t(n_in * n_rows), 2);
  auto e = encode(TypeId::F32, w, n_in, n_out);
  ThreadPool pool(2);
  k::Scratch s;
  std::vector<float> y(size_t(n_rows * n_out));
  k::matmul(pool, e.m, x.data(), n_rows, y.data(), s);
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t o = 0; o < n_out; ++o) {
      double ref = 0;
      for (int64_t i = 0; i < n_in; ++i) ref += double(w[o * n_in + i]) * x[r * n_in + i];
      REQUIRE(y[r * n_out + o] == Approx(ref).margin(1e-4));
    }
}

TEST_CASE("matmul quantizes activations to the codec's dot type") {
  // F16 weights take F16 activations, Q8_0 weights Q8_0 activations, Q4_K
  // weights Q8_K: the result equals the dot of the decoded weights with the
  // decoded (quantized) activations.
  for (TypeId t : {TypeId::F16, TypeId::Q8_0, TypeId::Q4_K}) {
    const int64_t n_in = 256, n_out = 9, n_rows = 3;
    auto w = randn(size_t(n_in * n_out), 3), x = randn(size_t(n_in * n_rows), 4);
    auto e = encode(t, w, n_in, n_out);
    ThreadPool pool(2);
    k::Scratch s;
    std::vector<float> y(size_t(n_rows * n_out));
    k::matmul(pool, e.m, x.data(), n_rows, y.data(), s);
    const Codec* dc = e.m.dot_codec;
    std::vector<std::byte> q(row_bytes(dc->type(), n_in));
    std::vector<float> xq(static_cast<size_t>(n_in));
    for (int64_t r = 0; r < n_rows; ++r) {
      dc->from_float(x.data() + r * n_in, q.data(), size_t(n_in));
      dc->to_float(q.data(), xq.data(), size_t(n_in));
      for (int64_t o = 0; o < n_out; ++o) {
        double ref = 0;
        for (int64_t i = 0; i < n_in; ++i) ref += double(e.decoded[o * n_in + i]) * xq[i];
        INFO(type_name(t) << " row " << r << " out " << o);
        REQUIRE(y[r * n_out + o] == Approx(ref).margin(2e-3));
      }
    }
  }
}

TEST_CASE("get_rows decodes rows and rejects bad ids") {
  const int64_t n_in = 32, n_out = 4;
  auto w = randn(size_t(n_in * n_out), 5);
  auto e = encode(TypeId::Q8_0, w, n_in, n_out);
  std::vector<float> out(size_t(2 * n_in));
  const TokenId ids[2] = {3, 1};
  k::get_rows(e.m, ids, out.data());
  for (int64_t i = 0; i < n_in; ++i) {
    REQUIRE(out[i] == e.decoded[3 * n_in + i]);
    REQUIRE(out[n_in + i] == e.decoded[1 * n_in + i]);
  }
  const TokenId bad[1] = {4};
  REQUIRE_THROWS_AS(k::get_rows(e.m, bad, out.data()), Error);
}

TEST_CASE("rms_norm and layer_norm match double references") {
  const int64_t n = 64, rows = 3;
  auto x = randn(size_t(n * rows), 6, 2.0f);
  std::vector<float> y(x.size());
  k::rms_norm(x.data(), y.data(), rows, n, 1e-5f);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
    const double s = 1.0 / std::sqrt(ss / n + 1e-5);
    for (int64_t i = 0; i < n; ++i) REQUIRE(y[r * n + i] == Approx(x[r * n + i] * s).epsilon(1e-6));
  }
  k::layer_norm(x.data(), y.data(), rows, n, 1e-12f);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[r * n + i];
    mean /= n;
    for (int64_t i = 0; i < n; ++i) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
    var /= n;
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(y[r * n + i] == Approx((x[r * n + i] - mean) / std::sqrt(var + 1e-12)).margin(1e-5));
  }
  // weight and bias broadcast
  std::vector<float> w = {2, 3}, b = {1, -1}, z = {1, 1, 2, 2};
  k::mul_row(z.data(), w.data(), 2, 2);
  k::add_row(z.data(), b.data(), 2, 2);
  REQUIRE(z == std::vector<float>{3, 2, 5, 5});
}

TEST_CASE("activations: silu, GELU through the F16 table, SwiGLU, GeGLU") {
  REQUIRE(k::silu(0.0f) == 0.0f);
  REQUIRE(k::silu(2.0f) == Approx(2.0 / (1.0 + std::exp(-2.0))).epsilon(1e-6));
  for (float x : {-12.0f, -3.3f, -0.7f, 0.0f, 0.123f, 1.0f, 2.5f, 9.9f, 15.0f}) {
    // ggml: x rounded to F16, GELU of that, result rounded to F16; outside ±10 exact.
    float want = x <= -10 ? 0.0f : x >= 10 ? x : round_fp16(k::gelu_tanh_f32(round_fp16(x)));
    REQUIRE(k::gelu(x) == want);
    REQUIRE(k::gelu(x) == Approx(0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))).margin(2e-2));
  }
  std::vector<float> g = {-11.0f, 0.5f, 1.5f, 11.0f}, u = {2.0f, 3.0f, -1.0f, 0.5f}, y(4);
  k::geglu(g.data(), u.data(), y.data(), 4);
  for (int i = 0; i < 4; ++i) REQUIRE(y[i] == k::gelu(g[i]) * u[i]);
  k::swiglu(g.data(), u.data(), y.data(), 4);
  for (int i = 0; i < 4; ++i) REQUIRE(y[i] == Approx(k::silu(g[i]) * u[i]).epsilon(1e-6));
}

TEST_CASE("GELU over an array (the vector paths) equals the scalar table lookup lane by lane") {
  // every F16 value, values between F16s (rounding), the +-10 bypass edges,
  // infinities and NaN; an odd length so the scalar tail runs too
  std::vector<float> x;
  for (uint32_t h = 0; h < 65536; ++h) x.push_back(tessel::fp16_to_fp32(uint16_t(h)));
  for (float v : {9.99f, 10.0f, 10.01f, -9.99f, -10.0f, -10.01f, 1e30f, -1e30f, 1.0001f, -0.33333f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN()})
    x.push_back(v);
  for (int i = 0; i < 1003; ++i) x.push_back(std::ldexp(float(i) - 501.5f, -5));
  std::vector<float> up(x.size()), y(x.size()), z(x.size());
  for (size_t i = 0; i < up.size(); ++i) up[i] = float(i % 7) - 3.0f;
  k::gelu(x.data(), y.data(), int64_t(x.size()));
  k::geglu(x.data(), up.data(), z.data(), int64_t(x.size()));
  size_t bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = k::gelu(x[i]);
    const bool same = std::isnan(want) ? std::isnan(y[i]) : y[i] == want;
    const bool same_mul = std::isnan(want) ? std::isnan(z[i]) : z[i] == want * up[i];
    if (!same || !same_mul) {
      if (++bad <= 5) UNSCOPED_INFO("x=" << x[i] << " gelu " << y[i] << " geglu " << z[i] << " want " << want);
    }
  }
  REQUIRE(bad == 0);
}

TEST_CASE("rope rotates pairs in normal and NeoX layouts, partial dims untouched") {
  const int64_t n_head = 2, hd = 8;
  for (bool neox : {false, true}) {
    k::RopeParams p;
    p.n_dims = 6;
    p.neox = neox;
    p.freq_base = 10000.0f;
    p.freq_scale = 0.5f;
    auto x = randn(size_t(3 * n_head * hd), 7);
    auto y = x;
    const int32_t pos[3] = {0, 5, 77};
    k::rope(y.data(), 3, n_head, hd, pos, p);
    for (int t = 0; t < 3; ++t)
      for (int h = 0; h < n_head; ++h) {
        const float* a = x.data() + (t * n_head + h) * hd;
        const float* b = y.data() + (t * n_head + h) * hd;
        for (int i = 0; i < 3; ++i) {
          const double theta = 0.5 * pos[t] * std::pow(10000.0, -2.0 * i / 6);
          const int i0 = neox ? i : 2 * i, i1 = neox ? i + 3 : 2 * i + 1;
          REQUIRE(b[i0] == Approx(a[i0] * std::cos(theta) - a[i1] * std::sin(theta)).margin(1e-4));
          REQUIRE(b[i1] == Approx(a[i0] * std::sin(theta) + a[i1] * std::cos(theta)).margin(1e-4));
        }
        REQUIRE(b[6] == a[6]);
        REQUIRE(b[7] == a[7]);
      }
  }
  k::RopeParams bad;
  bad.n_dims = 9;
  std::vector<float> v(8);
  const int32_t p0 = 0;
  REQUIRE_THROWS_AS(k::rope(v.data(), 1, 1, 8, &p0, bad), Error);
}
