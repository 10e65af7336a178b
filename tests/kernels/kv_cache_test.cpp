// The KV cache's per-sequence bookkeeping (what a server's slots need):
// removing one sequence, reusing its cells, keeping each sequence's cells in
// position order, per-sequence shares; and that a sequence attended beside
// others gives bit-identical rows to the same sequence alone.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "tessel/architecture.hpp"
#include "tessel/error.hpp"
#include "tessel/kernels.hpp"
#include "tessel/kv_cache.hpp"
#include "tessel/threadpool.hpp"

using namespace tessel;
namespace k = tessel::kernels;

namespace {
// Distinct, irregular values (no two rows alike), without a random generator.
std::vector<float> wave(size_t n, float phase) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(phase + 0.37f * float(i)) + 0.01f * float(i % 7);
  return v;
}
}  // namespace

TEST_CASE("KV cache removes one sequence and reuses its cells") {
  KvCache kv(1, 8, 4, 4, true);
  std::vector<int32_t> pos = {0, 1, 0, 1}, seq = {0, 0, 1, 1};
  REQUIRE(kv.allocate(pos, seq) == std::vector<int64_t>{0, 1, 2, 3});
  kv.remove_seq(0);
  REQUIRE(kv.used() == 2);
  REQUIRE(kv.extent() == 4);  // cells 2, 3 still hold sequence 1
  REQUIRE(kv.n_past(0) == 0);
  REQUIRE(kv.n_past(1) == 2);
  REQUIRE(kv.cell_seq()[0] == -1);
  // A new sequence takes the freed cells first.
  std::vector<int32_t> p2 = {0, 1}, s2 = {2, 2};
  REQUIRE(kv.allocate(p2, s2) == std::vector<int64_t>{0, 1});
  // Sequence 1 grows after its own last cell, never into a hole before it.
  kv.remove_seq(2);
  std::vector<int32_t> p3 = {2}, s3 = {1};
  REQUIRE(kv.allocate(p3, s3) == std::vector<int64_t>{4});
  kv.remove_seq(1);
  REQUIRE(kv.used() == 0);
  REQUIRE(kv.extent() == 0);
}

TEST_CASE("KV cache truncates one sequence from a position and continues it there") {
  KvCache kv(1, 8, 4, 4, true);
  std::vector<int32_t> pos = {0, 1, 2, 3, 0, 1}, seq = {0, 0, 0, 0, 1, 1};
  kv.allocate(pos, seq);
  kv.truncate_seq(0, 2);
  REQUIRE(kv.used() == 4);
  REQUIRE(kv.n_past(0) == 2);
  REQUIRE(kv.n_past(1) == 2);  // the other sequence is untouched
  REQUIRE(kv.cell_seq()[2] == -1);
  REQUIRE(kv.cell_seq()[3] == -1);
  // The sequence goes on from position 2 in the freed cells, in position order.
  std::vector<int32_t> p2 = {2, 3}, s2 = {0, 0};
  REQUIRE(kv.allocate(p2, s2) == std::vector<int64_t>{2, 3});
  kv.truncate_seq(1, 0);  // from 0: the whole sequence
  REQUIRE(kv.n_past(1) == 0);
  REQUIRE(kv.extent() == 4);
}

TEST_CASE("KV cache shares: with n_seq parts each sequence stays in its own") {
  KvCache kv(1, 8, 4, 4, false, 2);
  std::vector<int32_t> pos = {0, 0, 1}, seq = {1, 0, 1};
  REQUIRE(kv.allocate(pos, seq) == std::vector<int64_t>{4, 0, 5});
  std::vector<int32_t> p2 = {2, 3, 4}, s2 = {1, 1, 1};
  REQUIRE_THROWS_WITH(kv.allocate(p2, s2), Catch::Contains("share of 4 cells"));
  REQUIRE(kv.used() == 3);  // the refused batch left nothing behind
  REQUIRE(kv.n_past(1) == 2);
  REQUIRE_THROWS_AS(KvCache(1, 2, 4, 4, false, 3), Error);
}

TEST_CASE("KV cache stores rows at their cells, also when not consecutive") {
  KvCache kv(1, 6, 2, 2, false);
  std::vector<int32_t> pos = {0, 0, 0}, seq = {0, 1, 2};
  kv.allocate(pos, seq);
  kv.remove_seq(1);
  std::vector<int32_t> p2 = {1, 0, 1}, s2 = {0, 3, 2};
  const std::vector<int64_t> cells = kv.allocate(p2, s2);
  // seq 0 grows into the hole after its cell 0; new seq 3 takes the first free cell;
  // seq 2 goes after its cell 2.
  REQUIRE(cells == std::vector<int64_t>{1, 3, 4});
  std::vector<float> k = {1, 2, 3, 4, 5, 6}, v = {7, 8, 9, 10, 11, 12};
  kv.store(0, cells, k.data(), v.data());
  const auto view = kv.view(0, kv.extent());
  const float* K = static_cast<const float*>(view.k);
  REQUIRE(K[1 * 2] == 1);
  REQUIRE(K[3 * 2] == 3);
  REQUIRE(K[4 * 2 + 1] == 6);
}

TEST_CASE("KV cache clear() leaves it as new: no keys or values of earlier use") {
  // Masked cells still enter K·Q (and a layer dump's kq shows them), so rows
  // left behind by an earlier user made a later dump depend on history.
  for (bool f16 : {false, true}) {
    KvCache kv(2, 8, 2, 3, f16);
    std::vector<int32_t> pos = {0, 1, 2, 3, 4}, seq = {0, 0, 0, 0, 0};
    const std::vector<int64_t> cells = kv.allocate(pos, seq);
    const std::vector<float> k(10, 1.5f), v(15, -2.0f);
    for (int64_t il = 0; il < 2; ++il) kv.store(il, cells, k.data(), v.data());
    kv.clear();
    REQUIRE(kv.used() == 0);
    REQUIRE(kv.extent() == 0);
    for (int64_t il = 0; il < 2; ++il) {
      const auto view = kv.view(il, 8);
      const auto* K = static_cast<const unsigned char*>(view.k);
      const auto* V = static_cast<const unsigned char*>(view.v);
      const size_t elem = f16 ? 2 : 4;
      INFO("f16 " << f16 << " layer " << il);
      REQUIRE(std::all_of(K, K + 8 * 2 * elem, [](unsigned char b) { return b == 0; }));
      REQUIRE(std::all_of(V, V + 8 * 3 * elem, [](unsigned char b) { return b == 0; }));
    }
  }
}

TEST_CASE("attention rows of a sequence are bit-identical alone and beside other sequences") {
  const int64_t H = 4, HK = 2, D = 16, n_tok = 23;
  ThreadPool pool(2);
  k::Scratch scratch;
  k::AttnParams ap{H, HK, D, 0.25f, 0.0f};
  auto keys = wave(size_t(n_tok * HK * D), 1.0f), vals = wave(size_t(n_tok * HK * D), 2.0f);
  auto other = wave(size_t(n_tok * HK * D), 3.0f);
  auto q = wave(size_t(H * D), 4.0f);
  for (bool f16 : {false, true}) {
    // Alone: the sequence fills cells 0..n_tok-1 and its last token attends.
    auto run = [&](KvCache& kv, int32_t s, bool interleave) {
      for (int32_t p = 0; p < n_tok; ++p) {
        Batch b;
        if (interleave) b.add_token(0, p, s + 1, false);  // another sequence's row first
        b.add_token(0, p, s, true);
        const auto& cells = kv.allocate(b.pos, b.seq);
        std::vector<float> kr, vr;
        if (interleave) {
          kr.insert(kr.end(), other.begin() + p * HK * D, other.begin() + (p + 1) * HK * D);
          vr = kr;
        }
        kr.insert(kr.end(), keys.begin() + p * HK * D, keys.begin() + (p + 1) * HK * D);
        vr.insert(vr.end(), vals.begin() + p * HK * D, vals.begin() + (p + 1) * HK * D);
        kv.store(0, cells, kr.data(), vr.data());
      }
      const int64_t n_kv = kv.extent();
      std::vector<int32_t> pos = {n_tok - 1}, seq = {s};
      std::vector<float> mask(static_cast<size_t>(n_kv)), out(static_cast<size_t>(H * D));
      k::build_mask(kv.cell_pos(), kv.cell_seq(), pos, seq, n_kv, k::MaskParams{}, mask.data());
      k::attention(pool, q.data(), 1, kv.view(0, n_kv), mask.data(), ap, out.data(), scratch, nullptr);
      return out;
    };
    KvCache alone(1, 64, HK * D, HK * D, f16), mixed(1, 64, HK * D, HK * D, f16);
    const auto a = run(alone, 0, false);
    const auto b = run(mixed, 0, true);
    REQUIRE(mixed.extent() == 2 * n_tok);
    REQUIRE(a == b);
  }
}
