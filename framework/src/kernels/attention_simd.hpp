#pragma once
// Vector building blocks of kernels::attention (attention.cpp): F16 rows,
// the K tile transposition, the register-blocked K·Q and V·P micro-kernels,
// the softmax row and the flash path's F16 accumulator. Vectors are xsimd
// batches (AVX-512 with -march=native, AVX2, NEON, ...); F16 conversion,
// the transposition and the double sum use intrinsics where the build has
// them and portable loops elsewhere.
#include <cstdint>
#include <vector>
#include <xsimd/xsimd.hpp>

namespace tessel::kernels::attn {

// Floats in one vector of this build (16 with AVX-512, 8 with AVX2).
constexpr int64_t kLanes = int64_t(xsimd::batch<float>::size);
// Queries handled together by the micro-kernels: they share every K and V
// load, so more queries means fewer loads per multiply-add.
constexpr int kMaxQueries = 4;

using FloatBuf = std::vector<float, xsimd::aligned_allocator<float>>;

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// dst[i] = F16 value src[i] as float (exact).
void f16_to_f32(const uint16_t* src, float* dst, int64_t n);
// x[i] = x[i] rounded to the nearest F16 value (round to nearest even, as
// tessel::fp32_to_fp16), kept as float.
void round_to_f16(float* x, int64_t n);

// kt[d * ld + c] = element d of row c, rows c < n_rows read from
// base + c * stride (elements; F16 when f16, else F32), d < hd. Columns
// n_rows..ld-1 are zero; ld is a multiple of kLanes.
void transpose_rows(const void* base, bool f16, int64_t stride, int64_t n_rows, int64_t hd,
                    float* kt, int64_t ld);

// s[q * ld + c] = sum over d (in d order) of q_rows[q * hd + d] * kt[d * ld + c]
// for q < nq <= kMaxQueries and c from c0 (a multiple of kLanes) to c1
// rounded up to whole vectors (<= ld).
void dot_columns(const float* q_rows, int nq, int64_t hd, const float* kt, int64_t ld,
                 int64_t c0, int64_t c1, float* s);

// outs[q][d] = sum over c in [c0, c1) (in c order) of p[q * ld + c] * v[c * v_stride + d]
// for q < nq <= kMaxQueries, d < hd.
void weighted_rows(const float* p, int64_t ld, int nq, const float* v, int64_t v_stride,
                   int64_t c0, int64_t c1, int64_t hd, float* const* outs);

// ggml_soft_max_ext on one row (see kernels::soft_max): x = x * scale + mask,
// exp(x - max) summed in double, scaled by float(1 / sum); masked cells get
// exactly 0, a fully masked row becomes zeros. to_f16 rounds the
// probabilities to F16 (V·P over an F16 cache) in the same pass.
void soft_max_row(float* x, int64_t n, const float* mask, float scale, bool to_f16 = false);

// ggml_flash_attn_ext's per-row loop over cells [0, n) of one query: s are
// the raw K·Q dots, mask the row's mask (or null), v the V rows. Online
// softmax with a running max M and sum S; with f16_acc the V accumulator is
// rounded to F16 after every rescale and multiply-add, as ggml's F16 path.
// out[d] = acc[d] / S (zeros when every cell is masked). work is scratch.
void flash_row(const float* s, const float* mask, int64_t n, float scale, float softcap,
               const float* v, int64_t v_stride, int64_t hd, bool f16_acc, float* out,
               FloatBuf& work);

}  // namespace tessel::kernels::attn
