// The tiled, vectorised attention against a plain scalar reference: random
// Q/K/V, F16 and F32 caches, GQA shapes whose head sizes leave vector tails,
// causal / sliding / bidirectional / multi-sequence masks with fully masked
// rows, one token (decode) and many, with and without flash attention.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>

#include "tessel/half.hpp"
#include "tessel/kernels.hpp"

using namespace tessel;
namespace k = tessel::kernels;

namespace {

struct Shape {
  int64_t H, HK, D;
};

// The cells and tokens of one scenario; build_mask turns them into the mask.
struct Scene {
  std::string name;
  std::vector<int32_t> cell_pos, cell_seq, tok_pos, tok_seq;
  int64_t n_kv = 0;
  k::MaskParams mp;
  bool use_mask = true;
};

// n_past cells already cached, then n_new tokens (cached too); n_kv padded.
Scene prompt(const std::string& name, int64_t n_past, int64_t n_new, int64_t pad) {
  Scene s;
  s.name = name;
  for (int64_t i = 0; i < n_past + n_new; ++i) s.cell_pos.push_back(int32_t(i)), s.cell_seq.push_back(0);
  for (int64_t i = n_past; i < n_past + n_new; ++i) s.tok_pos.push_back(int32_t(i)), s.tok_seq.push_back(0);
  s.n_kv = n_past + n_new + pad;
  return s;
}

std::vector<Scene> scenes() {
  std::vector<Scene> v;
  v.push_back(prompt("causal prompt after 9 cached", 9, 45, 10));
  v.push_back(prompt("decode", 37, 1, 27));
  v.push_back(prompt("first token", 0, 1, 0));
  Scene sw = prompt("sliding window 7", 20, 30, 14);
  sw.mp.swa = k::MaskParams::Swa::standard;
  sw.mp.window = 7;
  v.push_back(sw);
  Scene sym = prompt("bidirectional symmetric window 10", 0, 40, 0);
  sym.mp.causal = false;
  sym.mp.swa = k::MaskParams::Swa::symmetric;
  sym.mp.window = 10;
  v.push_back(sym);
  // Two interleaved sequences plus a token of a third that sees no cell.
  Scene two;
  two.name = "two sequences and a fully masked row";
  for (int32_t i = 0; i < 30; ++i) two.cell_pos.push_back(i / 2), two.cell_seq.push_back(i % 2);
  for (int32_t i = 20; i < 30; ++i) two.tok_pos.push_back(i / 2), two.tok_seq.push_back(i % 2);
  two.tok_pos.insert(two.tok_pos.begin() + 3, 0);
  two.tok_seq.insert(two.tok_seq.begin() + 3, 2);
  two.n_kv = 33;
  v.push_back(two);
  Scene none = prompt("no mask", 5, 20, 0);
  none.use_mask = false;
  v.push_back(none);
  return v;
}

// Scalar reference in double: raw K·Q (Q and K rounded to F16 for an F16
// cache) and the softmax probabilities of one (head, token) row.
struct RefRow {
  std::vector<double> kq, prob;
};

struct Inputs {
  Shape sh;
  int64_t T, n_kv, stride;  // stride: elements between cells' K (and V) rows
  std::vector<float> q, k, v, mask;
  std::vector<uint16_t> k16, v16;
  bool f16;
  k::KvView view() const {
    k::KvView kv;
    kv.type = f16 ? TypeId::F16 : TypeId::F32;
    kv.k = f16 ? static_cast<const void*>(k16.data()) : k.data();
    kv.v = f16 ? static_cast<const void*>(v16.data()) : v.data();
    kv.n_kv = n_kv;
    kv.k_stride = kv.v_stride = stride;
    return kv;
  }
  // The cache's value (what an F16 cache stores).
  double kval(int64_t j, int64_t g, int64_t d) const {
    const float x = k[size_t(j * stride + g * sh.D + d)];
    return f16 ? double(round_fp16(x)) : double(x);
  }
  double vval(int64_t j, int64_t g, int64_t d) const {
    const float x = v[size_t(j * stride + g * sh.D + d)];
    return f16 ? double(round_fp16(x)) : double(x);
  }
  double qval(int64_t t, int64_t h, int64_t d) const {
    const float x = q[size_t((t * sh.H + h) * sh.D + d)];
    return f16 ? double(round_fp16(x)) : double(x);
  }
  const float* mask_ptr() const { return mask.empty() ? nullptr : mask.data(); }
  double m(int64_t t, int64_t j) const { return mask.empty() ? 0.0 : double(mask[size_t(t * n_kv + j)]); }
};

Inputs make_inputs(const Shape& sh, const Scene& sc, bool f16, uint32_t seed) {
  Inputs in;
  in.sh = sh;
  in.f16 = f16;
  in.T = int64_t(sc.tok_pos.size());
  in.n_kv = sc.n_kv;
  in.stride = sh.HK * sh.D + 3;  // rows not packed: strides must be honoured
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto fill = [&](std::vector<float>& x, size_t n) {
    x.resize(n);
    for (auto& e : x) e = nd(rng);
  };
  fill(in.q, size_t(in.T * sh.H * sh.D));
  fill(in.k, size_t(in.n_kv * in.stride));
  fill(in.v, size_t(in.n_kv * in.stride));
  for (auto& e : in.k) e *= 0.7f;  // logits of a few units: peaked but not one-hot
  for (float x : in.k) in.k16.push_back(fp32_to_fp16(x));
  for (float x : in.v) in.v16.push_back(fp32_to_fp16(x));
  if (sc.use_mask) {
    in.mask.resize(size_t(in.T * in.n_kv));
    k::build_mask(sc.cell_pos, sc.cell_seq, sc.tok_pos, sc.tok_seq, in.n_kv, sc.mp, in.mask.data());
  }
  return in;
}

RefRow ref_row(const Inputs& in, int64_t h, int64_t t, float scale, float softcap) {
  const int64_t g = h / (in.sh.H / in.sh.HK);
  RefRow r;
  r.kq.resize(size_t(in.n_kv));
  r.prob.assign(size_t(in.n_kv), 0.0);
  double mx = -INFINITY;
  std::vector<double> x(size_t(in.n_kv));
  for (int64_t j = 0; j < in.n_kv; ++j) {
    double dot = 0.0;
    for (int64_t d = 0; d < in.sh.D; ++d) dot += in.kval(j, g, d) * in.qval(t, h, d);
    r.kq[size_t(j)] = dot;
    const double capped = softcap > 0.0f ? std::tanh(dot / softcap) * softcap : dot;
    x[size_t(j)] = capped * scale + in.m(t, j);
    mx = std::max(mx, x[size_t(j)]);
  }
  if (mx == -INFINITY) return r;
  double sum = 0.0;
  for (int64_t j = 0; j < in.n_kv; ++j) sum += std::exp(x[size_t(j)] - mx);
  for (int64_t j = 0; j < in.n_kv; ++j) r.prob[size_t(j)] = std::exp(x[size_t(j)] - mx) / sum;
  return r;
}

// ggml's flash row, scalar: online softmax, the V accumulator rounded to F16
// after every step with an F16 cache.
std::vector<double> ref_flash(const Inputs& in, int64_t h, int64_t t, float scale, float softcap,
                              const RefRow& r) {
  const int64_t g = h / (in.sh.H / in.sh.HK), D = in.sh.D;
  const float sc = softcap > 0.0f ? scale / softcap : scale;
  std::vector<float> acc(size_t(D), 0.0f);
  auto rnd = [&](float x) { return in.f16 ? round_fp16(x) : x; };
  float S = 0.0f, M = -INFINITY;
  for (int64_t j = 0; j < in.n_kv; ++j) {
    const float mv = float(in.m(t, j));
    if (mv == -INFINITY) continue;
    float s = float(r.kq[size_t(j)]) * sc;
    if (softcap > 0.0f) s = softcap * std::tanh(s);
    s += mv;
    float ms = 1.0f, vs = 1.0f;
    if (s > M) {
      ms = std::exp(M - s);
      M = s;
      for (auto& a : acc) a = rnd(a * ms);
    } else {
      vs = std::exp(s - M);
    }
    for (int64_t d = 0; d < D; ++d) acc[size_t(d)] = rnd(acc[size_t(d)] + float(in.vval(j, g, d)) * vs);
    S = S * ms + vs;
  }
  std::vector<double> out(static_cast<size_t>(D));
  for (int64_t d = 0; d < D; ++d) out[size_t(d)] = S == 0.0f ? 0.0 : double(acc[size_t(d)]) / S;
  return out;
}

// Scale of the terms summed into output element d of row (h, t): the bound
// for a relative comparison of sums whose order differs.
double vp_magnitude(const Inputs& in, int64_t h, int64_t t, int64_t d, const float* prob) {
  const int64_t g = h / (in.sh.H / in.sh.HK);
  double s = 1e-30;
  for (int64_t j = 0; j < in.n_kv; ++j) s += std::abs(prob[j] * in.vval(j, g, d));
  return s;
}

void check_case(ThreadPool& pool, const Shape& sh, const Scene& sc, bool f16, float softcap) {
  INFO(sc.name << " H=" << sh.H << " HK=" << sh.HK << " D=" << sh.D << (f16 ? " F16" : " F32")
               << " softcap=" << softcap << " threads=" << pool.size());
  const Inputs in = make_inputs(sh, sc, f16, uint32_t(sh.H * 131 + sh.D * 7 + sc.tok_pos.size()));
  const int64_t T = in.T, H = sh.H, D = sh.D, n_kv = in.n_kv;
  const float scale = 1.0f / std::sqrt(float(D));
  k::AttnParams ap{H, sh.HK, D, scale, softcap};
  k::Scratch scratch;
  // Default path with the debug copies (every cell's K·Q), then without
  // (masked cells skipped): same probabilities, same output.
  std::vector<float> out_dbg(size_t(T * H * D)), out(out_dbg.size(), NAN), out_fa(out_dbg.size(), NAN);
  std::vector<float> kq(size_t(H * T * n_kv), NAN), sm(kq.size(), NAN);
  k::AttnDebug dbg{kq.data(), sm.data()};
  k::attention(pool, in.q.data(), T, in.view(), in.mask_ptr(), ap, out_dbg.data(), scratch, &dbg);
  k::attention(pool, in.q.data(), T, in.view(), in.mask_ptr(), ap, out.data(), scratch);
  ap.flash = true;
  k::attention(pool, in.q.data(), T, in.view(), in.mask_ptr(), ap, out_fa.data(), scratch);
  size_t n_flash_off = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t t = 0; t < T; ++t) {
      const RefRow r = ref_row(in, h, t, scale, softcap);
      const float* kq_row = kq.data() + (h * T + t) * n_kv;
      const float* p_row = sm.data() + (h * T + t) * n_kv;
      const int64_t g = h / (H / sh.HK);
      for (int64_t j = 0; j < n_kv; ++j) {
        double mag = 1e-30;
        for (int64_t d = 0; d < D; ++d) mag += std::abs(in.kval(j, g, d) * in.qval(t, h, d));
        REQUIRE(std::abs(kq_row[j] - r.kq[size_t(j)]) <= 1e-5 * mag);
        REQUIRE(std::abs(p_row[j] - r.prob[size_t(j)]) <= 1e-5 * r.prob[size_t(j)] + 1e-9);
        if (in.m(t, j) == -INFINITY) REQUIRE(p_row[j] == 0.0f);  // exactly
      }
      // V·P from the kernel's own probabilities, rounded to F16 as ggml does.
      std::vector<float> p16(p_row, p_row + n_kv);
      if (f16)
        for (auto& x : p16) x = round_fp16(x);
      const std::vector<double> fa = ref_flash(in, h, t, scale, softcap, r);
      const std::vector<float> p_exact(r.prob.begin(), r.prob.end());
      for (int64_t d = 0; d < D; ++d) {
        double ref = 0.0;
        for (int64_t j = 0; j < n_kv; ++j) ref += double(p16[size_t(j)]) * in.vval(j, g, d);
        const size_t o = size_t((t * H + h) * D + d);
        const double mag = vp_magnitude(in, h, t, d, p16.data());
        REQUIRE(std::abs(out_dbg[o] - ref) <= 1e-5 * mag);
        REQUIRE(std::abs(out[o] - out_dbg[o]) <= 1e-6 * mag);  // skipping cells changes nothing
        // Flash: F32 exact up to order. F16: an exp an ulp off the
        // emulation's can flip one F16 rounding of the accumulator, which
        // then carries on; that must stay rare.
        const double fmag = vp_magnitude(in, h, t, d, p_exact.data());
        const double err = std::abs(out_fa[o] - fa[size_t(d)]);
        REQUIRE(err <= (f16 ? 2e-3 : 1e-5) * fmag);
        n_flash_off += err > 1e-5 * fmag;
      }
    }
  INFO(n_flash_off << " of " << out_fa.size() << " flash outputs off by more than 1e-5");
  REQUIRE(n_flash_off * 50 <= out_fa.size());
}

}  // namespace

TEST_CASE("tiled attention matches a scalar reference (F16/F32, GQA, masks, flash)") {
  const std::vector<Shape> shapes = {{8, 2, 64}, {6, 3, 40}, {4, 4, 8}, {8, 1, 80}, {16, 2, 128}};
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (const Shape& sh : shapes)
      for (const Scene& sc : scenes())
        for (bool f16 : {false, true}) check_case(pool, sh, sc, f16, 0.0f);
  }
  ThreadPool pool(2);
  check_case(pool, {8, 2, 64}, scenes()[0], true, 5.0f);   // gemma2-style softcap
  check_case(pool, {4, 2, 48}, scenes()[3], false, 5.0f);
}

TEST_CASE("vectorised softmax: tails, masks, fully masked rows") {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int64_t n : {1, 7, 16, 17, 33, 100, 257}) {
    std::vector<float> x(static_cast<size_t>(n)), mask(static_cast<size_t>(n), 0.0f);
    for (auto& e : x) e = nd(rng);
    for (int64_t i = 0; i < n; i += 3) mask[size_t(i)] = -INFINITY;
    if (n > 1) mask[1] = -0.5f;  // finite mask values are added
    std::vector<float> y = x;
    k::soft_max(y.data(), n, mask.data(), 0.3f);
    double mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(x[size_t(i)]) * 0.3 + mask[size_t(i)]);
    for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[size_t(i)]) * 0.3 + mask[size_t(i)] - mx);
    for (int64_t i = 0; i < n; ++i) {
      const double ref = mx == -INFINITY ? 0.0 : std::exp(double(x[size_t(i)]) * 0.3 + mask[size_t(i)] - mx) / sum;
      REQUIRE(std::abs(y[size_t(i)] - ref) <= 1e-6 * ref + 1e-12);
      if (mask[size_t(i)] == -INFINITY) REQUIRE(y[size_t(i)] == 0.0f);
    }
    std::vector<float> all(size_t(n), -INFINITY), z = x;
    k::soft_max(z.data(), n, all.data(), 1.0f);
    for (float e : z) REQUIRE(e == 0.0f);
  }
}
