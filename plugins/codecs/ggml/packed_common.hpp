#pragma once
// The container every packed layout shares (see packed.hpp): huge-page
// storage, packing groups of L::kRows rows in parallel, and the multiply loop
// that runs a layout's kernel (block<J>, or tile<J>) over row groups and
// activation rows.
// Included by one file per ISA (packed_x86.cpp: AVX-512 VNNI, 16 rows;
// packed_avx2.cpp: AVX2, 8 rows), so everything has internal linkage: an
// inline function with external linkage would be emitted by both, and the
// linker could keep the AVX-512 copy for the AVX2 path.
#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include <sys/mman.h>

#include "blocks.hpp"
#include "tessel/codec.hpp"
#include "tessel/threadpool.hpp"

namespace tessel::ggml {
namespace {

// F16C from CPUID leaf 1 (ECX bit 29): clang before 16 has no "f16c" for
// __builtin_cpu_supports, which broke the clang (sanitizer, fuzz) build.
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}

// What the AVX2 layouts need (__builtin_cpu_supports also checks that the OS
// saves the ymm registers).
[[maybe_unused]] bool cpu_has_avx2_fma() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  return ok;
}

constexpr size_t kActChunk = 64;   // activation rows kept hot while weights stream

// Storage for the packed groups: anonymous memory in 2 MiB huge pages where
// the kernel gives them. Packing first-touches every page, and with 4 KiB
// pages those faults cost more than the copy; decode also streams the
// weights with fewer TLB misses. Only whole huge pages are advised: a
// tensor's last partial one would otherwise be faulted in whole, and over a
// model's ~150 tensors that was ~100 MiB of peak RSS nobody used.
struct AlignedBytes {
  std::byte* p = nullptr;
  size_t len = 0;  // whole 4 KiB pages
  explicit AlignedBytes(size_t bytes) {
    constexpr size_t kHuge = size_t(2) << 20, kPage = 4096;
    len = (std::max<size_t>(bytes, 1) + kPage - 1) / kPage * kPage;
    const size_t mapped = len + kHuge;  // slack to start on a 2 MiB boundary
    void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t base = uintptr_t(m), start = (base + kHuge - 1) & ~(kHuge - 1);
    if (start > base) munmap(m, start - base);
    if (base + mapped > start + len) munmap(reinterpret_cast<void*>(start + len), base + mapped - start - len);
    p = reinterpret_cast<std::byte*>(start);
    if (const size_t huge = len / kHuge * kHuge) madvise(p, huge, MADV_HUGEPAGE);
  }
  ~AlignedBytes() { munmap(p, len); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
};

// Where block b's quants and scales sit in a row group of nb blocks. With
// L::kInlineMeta each block's scales follow its quants, so decode reads the
// group as one stream (scales kept in a second stream missed the cache: a
// third of Q4_K's decode time stalled on its scale loads); otherwise all
// quants come first, then all scales.
template <class L, class P> P quant_at(P grp, size_t nb, size_t b) {
  (void)nb;
  return L::kInlineMeta ? grp + b * (L::kQuant + L::kMeta) : grp + b * L::kQuant;
}
template <class L, class P> P meta_at(P grp, size_t nb, size_t b) {
  return L::kInlineMeta ? grp + b * (L::kQuant + L::kMeta) + L::kQuant : grp + nb * L::kQuant + b * L::kMeta;
}

// Decode reads each weight byte once: prefetching ahead keeps more cache
// misses in flight than the hardware prefetcher alone (it stops at page
// boundaries), which is what one core's share of the bandwidth needs. 2 KiB
// (32 lines, about what one core's L1 can have in flight) beat 8 KiB in
// paired tg64 rounds: Q4_K_M and Q4_0 +3-9 % at -t 1, +7-26 % at -t 2;
// 1 and 1.5 KiB read lower (docs/decisions.md).
constexpr size_t kPrefetchAhead = 2048;
inline void prefetch_ahead(const std::byte* p, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchAhead + off), _MM_HINT_T0);
}

// Part p of P of a block's prefetch, for layouts whose blocks are 0.7-1.7 KiB
// (the K-quants, L::kPrefetchInBlock): their loops spread the block's lines
// over their steps. One burst of 19-27 prefetches at the block's start
// stalled on full miss buffers; spread, Q4_K_M, Q5_K_M and Q6_K decode
// ~5-15 % faster at one thread (paired runs, docs/decisions.md).
template <class L, int P> [[gnu::always_inline]] inline void prefetch_part(const std::byte* blk, int p) {
  constexpr int kLines = int((L::kQuant + L::kMeta + 63) / 64);
  for (int l = kLines * p / P; l < kLines * (p + 1) / P; ++l)
    _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchAhead + 64 * size_t(l)), _MM_HINT_T0);
}

// The prefetch for one block of a layout: its quants (and inline scales) a
// few KiB ahead, and a layout's separate scale stream as far ahead in blocks.
template <class L> void prefetch_block(const std::byte* grp, size_t nb, size_t b) {
  const std::byte* q = quant_at<L>(grp, nb, b);
  prefetch_ahead(q, L::kQuant + (L::kInlineMeta ? L::kMeta : 0));
  if constexpr (!L::kInlineMeta)
    _mm_prefetch(reinterpret_cast<const char*>(meta_at<L>(grp, nb, b) + kPrefetchAhead / L::kQuant * L::kMeta),
                 _MM_HINT_T0);
}

// A type's packed layout and kernel. Per quant block a group of L::kRows
// rows holds kQuant bytes of interleaved quants and kMeta bytes of scales;
// pack_block writes both from the rows' blocks. The kernel is either
// block<J> (one quant block of a group times J activation rows, added into
// L::Acc sums; the loops below run it) or, for layouts not yet moved to that
// form, tile<J> (a whole group times J rows).
template <class L>
class Packed final : public PackedMatrix {
  static constexpr size_t kRows = L::kRows;

 public:
  Packed(const void* w, size_t n_out, size_t n_in, ThreadPool* pool)
      : nb_(n_in / L::kBlock), groups_((n_out + kRows - 1) / kRows),
        group_bytes_((nb_ * (L::kQuant + L::kMeta) + 63) & ~size_t(63)),
        data_(groups_ * group_bytes_) {
    const size_t row = nb_ * sizeof(typename L::Block);
    const auto* src = static_cast<const std::byte*>(w);
    const typename L::Block zero{};
    auto pack_groups = [&](int64_t g0, int64_t g1) {
      for (size_t g = size_t(g0); g < size_t(g1); ++g)
        for (size_t b = 0; b < nb_; ++b) {
        const typename L::Block* rows[kRows];
        for (size_t r = 0; r < kRows; ++r) {
          const size_t o = g * kRows + r;  // rows past n_out are zero padding
          rows[r] = o < n_out ? reinterpret_cast<const typename L::Block*>(src + o * row) + b : &zero;
        }
        std::byte* grp = data_.p + g * group_bytes_;
        L::pack_block(rows, quant_at<L>(grp, nb_, b), meta_at<L>(grp, nb_, b));
        }
    };
    if (pool) pool->parallel_for(int64_t(groups_), pack_groups, 8);
    else pack_groups(0, int64_t(groups_));
  }
  size_t row_group() const override { return kRows; }
  size_t act_bytes() const override { return nb_ * sizeof(typename L::Act); }
  void quantize_act(const float* x, void* act) const override {
    L::quantize(x, static_cast<typename L::Act*>(act), nb_);
  }

  void multiply(const void* act, size_t n_act, size_t o_begin, size_t o_end, float* y,
                size_t y_stride) const override {
    const auto* a = static_cast<const std::byte*>(act);
    const size_t ab = act_bytes(), g_end = (o_end + kRows - 1) / kRows;
    if constexpr (kBlocks) {
      // Decode reads S = L::kDecodeStreams groups at a time, each from its
      // own 1/S of the thread's rows, so every stream runs on through
      // consecutive groups: one core's prefetchers keep more lines in flight
      // over several long sequential streams than over one. Four streams
      // serve Q8_0 and the floats (neighbouring groups read the same, one
      // group at a time ~15 % slower); two streams with the software
      // prefetch took Q4_0 and Q4_K +14-16 % past one, and three Q4_0 a few
      // % more (paired runs, docs/decisions.md).
      if (n_act == 1) {
        constexpr size_t S = L::kDecodeStreams;
        size_t g = o_begin / kRows;
        const size_t q = (g_end - g) / S;  // groups per stream
        for (size_t k = 0; k < q; ++k) streams(g + k, q, a, y, o_end);
        for (g += S * q; g < g_end; ++g) group<1>(g, a, ab, y, y_stride, o_end);
        return;
      }
    }
    for (size_t r0 = 0; r0 < n_act; r0 += kActChunk) {
      const size_t r1 = std::min(n_act, r0 + kActChunk);
      for (size_t g = o_begin / kRows; g < g_end; ++g) {
        const std::byte* grp = data_.p + g * group_bytes_;
        const size_t o = g * kRows, valid = std::min(kRows, o_end - o);
        const auto mask = L::mask(valid);
        size_t r = r0;
        auto run = [&](auto tile_rows) {
          constexpr int J = decltype(tile_rows)::value;
          for (; r + J <= r1; r += J) {
            if constexpr (kBlocks) group<J>(g, a + r * ab, ab, y + r * y_stride, y_stride, o_end);
            else L::template tile<J>(grp, nb_, a + r * ab, ab, y + r * y_stride + o, y_stride, mask);
          }
        };
        // the widest tile first; short batches (a few tokens) still share
        // each weight load across their rows
        run(std::integral_constant<int, L::kTile>{});
        if constexpr (L::kTile > 4) run(std::integral_constant<int, 4>{});
        if constexpr (L::kTile > 2) run(std::integral_constant<int, 2>{});
        run(std::integral_constant<int, 1>{});
      }
    }
  }

 private:
  static constexpr bool kBlocks = requires { &L::template block<1>; };

  // Layouts read with fewer than four streams need the software prefetch;
  // four streams do without it (adding it lost for Q8_0 and F16).
  static constexpr bool kPrefetch = L::kDecodeStreams < 4;
  static constexpr bool kInBlock = requires { L::kPrefetchInBlock; };  // the layout prefetches its own blocks

  // J activation rows times group g, a block at a time.
  template <int J>
  void group(size_t g, const std::byte* a, size_t ab, float* y, size_t ys, size_t o_end) const {
    typename L::Acc fa[J];
    for (auto& v : fa) v = L::zero();
    const std::byte* grp = data_.p + g * group_bytes_;
    for (size_t b = 0; b < nb_; ++b) {
      // one stream (short batches, or what decode leaves over) needs the prefetch
      if constexpr ((J == 2 || (J == 1 && kPrefetch)) && !kInBlock) prefetch_block<L>(grp, nb_, b);
      L::template block<J>(grp, nb_, b, a, ab, fa);
    }
    const size_t o = g * kRows;
    for (int j = 0; j < J; ++j) L::store(y + size_t(j) * ys + o, fa[j], std::min(kRows, o_end - o));
  }

  // Decode: one activation row times groups g, g + q, g + 2q, ... (one per
  // stream), their blocks taken in turn.
  void streams(size_t g, size_t q, const std::byte* a, float* y, size_t o_end) const {
    constexpr size_t S = L::kDecodeStreams;
    typename L::Acc fa[S][1];
    const std::byte* grp[S];
    for (size_t s = 0; s < S; ++s) {
      fa[s][0] = L::zero();
      grp[s] = data_.p + (g + s * q) * group_bytes_;
    }
    for (size_t b = 0; b < nb_; ++b)
      for (size_t s = 0; s < S; ++s) {
        if constexpr (kPrefetch && !kInBlock) prefetch_block<L>(grp[s], nb_, b);
        L::template block<1>(grp[s], nb_, b, a, 0, fa[s]);
      }
    for (size_t s = 0; s < S; ++s) {
      const size_t o = (g + s * q) * kRows;
      L::store(y + o, fa[s][0], std::min(kRows, o_end - o));
    }
  }

  size_t nb_, groups_, group_bytes_;  // groups start 64-byte aligned
  AlignedBytes data_;
};

template <class A> const A& act_block(const std::byte* a, size_t ab, int j, size_t b) {
  return reinterpret_cast<const A*>(a + size_t(j) * ab)[b];
}

// The packed matrix of layout L, or null when rows are not whole blocks.
template <class L>
std::unique_ptr<PackedMatrix> make(const void* w, size_t n_out, size_t n_in, ThreadPool* pool) {
  if (n_in == 0 || n_in % L::kBlock != 0 || n_out == 0) return nullptr;
  return std::make_unique<Packed<L>>(w, n_out, n_in, pool);
}

}  // namespace
}  // namespace tessel::ggml
