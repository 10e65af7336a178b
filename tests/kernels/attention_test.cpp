// Masks, softmax, attention (F32 and F16 KV, GQA) and the KV cache.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/kernels.hpp"
#include "tessel/kv_cache.hpp"
#include "tessel/threadpool.hpp"

using namespace tessel;
namespace k = tessel::kernels;

namespace {
std::vector<float> randn(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}
bool open(float m) { return m == 0.0f; }
}  // namespace

TEST_CASE("masks: causal, bidirectional, sliding windows, several sequences") {
  // Cells: seq 0 positions 0..3, seq 1 positions 0..1.
  std::vector<int32_t> cp = {0, 1, 2, 3, 0, 1}, cs = {0, 0, 0, 0, 1, 1};
  std::vector<int32_t> tp = {3, 1}, ts = {0, 1};
  const int64_t n_kv = 8;  // two padding cells
  std::vector<float> m(size_t(2 * n_kv));
  k::MaskParams p;
  k::build_mask(cp, cs, tp, ts, n_kv, p, m.data());
  for (int j = 0; j < 8; ++j) REQUIRE(open(m[j]) == (j <= 3));
  for (int j = 0; j < 8; ++j) REQUIRE(open(m[n_kv + j]) == (j == 4 || j == 5));
  REQUIRE(std::isinf(m[7]));

  p.causal = false;
  std::vector<int32_t> tp2 = {1}, ts2 = {0};
  k::build_mask(cp, cs, tp2, ts2, n_kv, p, m.data());
  for (int j = 0; j < 8; ++j) REQUIRE(open(m[j]) == (j <= 3));

  p.causal = true;
  p.swa = k::MaskParams::Swa::standard;
  p.window = 2;  // token at 3 sees 2 and 3
  k::build_mask(cp, cs, tp, ts, n_kv, p, m.data());
  for (int j = 0; j < 8; ++j) REQUIRE(open(m[j]) == (j == 2 || j == 3));

  p.causal = false;
  p.swa = k::MaskParams::Swa::symmetric;
  p.window = 3;  // |i - j| <= 1
  k::build_mask(cp, cs, tp2, ts2, n_kv, p, m.data());
  for (int j = 0; j < 8; ++j) REQUIRE(open(m[j]) == (j <= 2));
}

TEST_CASE("softmax with scale and mask, fully masked rows are zero") {
  std::vector<float> x = {1.0f, 2.0f, 3.0f, 4.0f};
  std::vector<float> mask = {0.0f, -INFINITY, 0.0f, 0.0f};
  k::soft_max(x.data(), 4, mask.data(), 0.5f);
  const double e0 = std::exp(0.5), e2 = std::exp(1.5), e3 = std::exp(2.0), s = e0 + e2 + e3;
  REQUIRE(x[0] == Approx(e0 / s).epsilon(1e-6));
  REQUIRE(x[1] == 0.0f);
  REQUIRE(x[2] == Approx(e2 / s).epsilon(1e-6));
  REQUIRE(x[3] == Approx(e3 / s).epsilon(1e-6));
  std::vector<float> y = {1.0f, 2.0f}, all = {-INFINITY, -INFINITY};
  k::soft_max(y.data(), 2, all.data(), 1.0f);
  REQUIRE(y == std::vector<float>{0.0f, 0.0f});
}

// Reference attention in double with explicit F16 roundings when asked.
static std::vector<double> ref_attention(const std::vector<float>& q, const std::vector<float>& kk,
                                         const std::vector<float>& v, const std::vector<float>& mask,
                                         int64_t T, int64_t n_kv, int64_t H, int64_t HK, int64_t D,
                                         float scale, bool f16) {
  auto r = [&](float x) { return f16 ? double(round_fp16(x)) : double(x); };
  std::vector<double> out(size_t(T * H * D), 0.0);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t g = h / (H / HK);
      std::vector<double> s(static_cast<size_t>(n_kv));
      double mx = -INFINITY;
      for (int64_t j = 0; j < n_kv; ++j) {
        double d = 0;
        for (int64_t i = 0; i < D; ++i) d += r(kk[(j * HK + g) * D + i]) * r(q[(t * H + h) * D + i]);
        s[j] = d * scale + mask[t * n_kv + j];
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (auto& x : s) sum += (x = std::exp(x - mx));
      for (int64_t j = 0; j < n_kv; ++j) {
        const double p = r(float(s[j] / sum));
        for (int64_t i = 0; i < D; ++i) out[(t * H + h) * D + i] += p * r(v[(j * HK + g) * D + i]);
      }
    }
  return out;
}

TEST_CASE("attention over F32 and F16 caches with GQA matches the reference") {
  const int64_t H = 4, HK = 2, D = 16, T = 3, n_ctx = 16;
  for (bool f16 : {false, true}) {
    KvCache kv(1, n_ctx, HK * D, HK * D, f16);
    ThreadPool pool(2);
    k::Scratch scratch;
    // Two earlier tokens, then a batch of three.
    auto k0 = randn(size_t(5 * HK * D), 11), v0 = randn(size_t(5 * HK * D), 12);
    std::vector<int32_t> pos = {0, 1}, seq = {0, 0};
    const std::vector<int64_t> c0 = kv.allocate(pos, seq);
    kv.store(0, c0, k0.data(), v0.data());
    std::vector<int32_t> pos2 = {2, 3, 4}, seq2 = {0, 0, 0};
    const std::vector<int64_t> c1 = kv.allocate(pos2, seq2);
    kv.store(0, c1, k0.data() + 2 * HK * D, v0.data() + 2 * HK * D);
    REQUIRE(kv.n_past(0) == 5);
    REQUIRE(kv.n_past(1) == 0);
    const int64_t n_kv = 8;  // padded
    std::vector<float> mask(size_t(T * n_kv));
    k::build_mask(kv.cell_pos(), kv.cell_seq(), pos2, seq2, n_kv, k::MaskParams{}, mask.data());
    auto q = randn(size_t(T * H * D), 13);
    std::vector<float> out(size_t(T * H * D)), kq(size_t(H * T * n_kv)), sm(kq.size());
    k::AttnParams ap{H, HK, D, 0.25f, 0.0f};
    k::AttnDebug dbg{kq.data(), sm.data()};
    k::attention(pool, q.data(), T, kv.view(0, n_kv), mask.data(), ap, out.data(), scratch, &dbg);
    std::vector<float> kpad(size_t(n_kv * HK * D), 0.0f), vpad = kpad;
    std::copy(k0.begin(), k0.end(), kpad.begin());
    std::copy(v0.begin(), v0.end(), vpad.begin());
    auto ref = ref_attention(q, kpad, vpad, mask, T, n_kv, H, HK, D, 0.25f, f16);
    for (size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == Approx(ref[i]).margin(1e-5));
    // Probabilities of masked cells (future and padding) are exactly 0; rows sum to 1.
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        double sum = 0;
        for (int64_t j = 0; j < n_kv; ++j) {
          const float pj = sm[(h * T + t) * n_kv + j];
          if (j > 2 + t) REQUIRE(pj == 0.0f);
          sum += pj;
        }
        REQUIRE(sum == Approx(1.0).epsilon(1e-6));
      }
  }
}

TEST_CASE("KV cache refuses batches beyond the context and releases cells") {
  KvCache kv(2, 4, 8, 8, true);
  std::vector<int32_t> pos = {0, 1, 2}, seq = {0, 0, 0};
  kv.allocate(pos, seq);
  REQUIRE(kv.used() == 3);
  REQUIRE_THROWS_AS(kv.allocate(pos, seq), Error);
  REQUIRE(kv.used() == 3);  // a refused batch takes nothing
  const std::vector<int64_t> last = {2};
  kv.release(last);
  REQUIRE(kv.n_past(0) == 2);
  kv.clear();
  REQUIRE(kv.used() == 0);
  REQUIRE(kv.n_past(0) == 0);
}

TEST_CASE("heads_first permutes token-major heads") {
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8}, y(8);  // T=2, H=2, D=2
  k::heads_first(x.data(), 2, 2, 2, y.data());
  REQUIRE(y == std::vector<float>{1, 2, 5, 6, 3, 4, 7, 8});
}

TEST_CASE("flash-attention numerics: equal to attention on F32, F16-accumulated on F16") {
  const int64_t H = 4, HK = 1, D = 8, T = 4, n_kv = 6;
  ThreadPool pool(2);
  k::Scratch scratch;
  auto kk = randn(size_t(n_kv * HK * D), 21), vv = randn(size_t(n_kv * HK * D), 22);
  auto q = randn(size_t(T * H * D), 23);
  std::vector<int32_t> cp = {0, 1, 2, 3, 4, 5}, cs(6, 0), tp = {2, 3, 4, 5}, ts(4, 0);
  std::vector<float> mask(size_t(T * n_kv));
  k::build_mask(cp, cs, tp, ts, n_kv, k::MaskParams{}, mask.data());
  for (bool f16 : {false, true}) {
    std::vector<uint16_t> k16(kk.size()), v16(vv.size());
    for (size_t i = 0; i < kk.size(); ++i) { k16[i] = fp32_to_fp16(kk[i]); v16[i] = fp32_to_fp16(vv[i]); }
    k::KvView kv;
    kv.type = f16 ? TypeId::F16 : TypeId::F32;
    kv.k = f16 ? static_cast<const void*>(k16.data()) : kk.data();
    kv.v = f16 ? static_cast<const void*>(v16.data()) : vv.data();
    kv.n_kv = n_kv;
    kv.k_stride = kv.v_stride = HK * D;
    std::vector<float> a(size_t(T * H * D)), b(a.size());
    k::AttnParams ap{H, HK, D, 0.3f, 0.0f};
    k::attention(pool, q.data(), T, kv, mask.data(), ap, a.data(), scratch);
    ap.flash = true;
    k::attention(pool, q.data(), T, kv, mask.data(), ap, b.data(), scratch);
    // F32: only the summation order differs. F16: the accumulator rounds to
    // F16 at every step, so expect F16-sized differences (and some).
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(b[i] == Approx(a[i]).margin(f16 ? 5e-3 : 1e-5));
    if (f16) CHECK(a != b);
  }
}

TEST_CASE("attention: a row gives the same bits whatever rows share its pass, at any cell offset") {
  // A server slot's cells may start anywhere (a context split among slots,
  // or a sliding window), and a decode pass takes rows of several slots. The
  // softmax sums lane by lane, so a row's cells must fall in the same lanes
  // alone and beside a row whose cells start elsewhere. Scores span ~35 nats
  // (terms far below the largest one, where double sums round), V random.
  const int64_t D = 32, n_kv = 96, n = 61;
  ThreadPool pool(2);
  k::Scratch scratch;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> score(-35.0f, 0.0f);
  const float ninf = -std::numeric_limits<float>::infinity();
  for (bool flash : {false, true})
    for (int64_t off = 1; off < 17; ++off)
      for (int trial = 0; trial < 8; ++trial) {
        INFO("flash " << flash << " offset " << off << " trial " << trial);
        // Row A sees cells [off, off + n); row B sees cells [0, 3) only.
        std::vector<float> K(size_t(n_kv * D)), V = randn(size_t(n_kv * D), uint32_t(100 + trial));
        const auto noise = randn(size_t(n_kv * D), uint32_t(200 + trial));
        for (int64_t c = 0; c < n_kv; ++c)
          for (int64_t d = 0; d < D; ++d) K[size_t(c * D + d)] = d == 0 ? score(rng) : noise[size_t(c * D + d)];
        std::vector<float> qa(size_t(D), 0.0f), qb = randn(size_t(D), uint32_t(300 + trial));
        qa[0] = 1.0f;  // A's scores are K's first column, exactly
        std::vector<float> mask_a(size_t(n_kv), ninf), mask_b(size_t(n_kv), ninf);
        for (int64_t c = off; c < off + n; ++c) mask_a[size_t(c)] = 0.0f;
        for (int64_t c = 0; c < 3; ++c) mask_b[size_t(c)] = 0.0f;
        k::KvView kv{TypeId::F32, K.data(), V.data(), n_kv, D, D};
        k::AttnParams ap{1, 1, D, 1.0f, 0.0f, flash};
        std::vector<float> alone(static_cast<size_t>(D));
        k::attention(pool, qa.data(), 1, kv, mask_a.data(), ap, alone.data(), scratch, nullptr);
        // B first, so one pass holds both rows and starts at cell 0.
        std::vector<float> q2 = qb, m2 = mask_b, both(size_t(2 * D));
        q2.insert(q2.end(), qa.begin(), qa.end());
        m2.insert(m2.end(), mask_a.begin(), mask_a.end());
        k::attention(pool, q2.data(), 2, kv, m2.data(), ap, both.data(), scratch, nullptr);
        REQUIRE(std::equal(alone.begin(), alone.end(), both.begin() + D));
      }
}
