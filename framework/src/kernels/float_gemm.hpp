#pragma once
// Prompt batches of float weights through Eigen's GEMM (docs/decisions.md,
// "Eigen for float GEMM"). Internal to the kernels.
#include <cstdint>

#include "tessel/kernels.hpp"

namespace tessel::kernels {

// Fewer activation rows than this stay on the dot kernels (decode, short batches).
inline constexpr int64_t kFloatGemmMinRows = 16;

// y = x · Wᵀ as matmul() defines it, for the weight types where Eigen is the
// faster path; false (nothing written) for every other matrix.
bool float_gemm(ThreadPool& pool, const Matrix& w, const float* x, int64_t n_rows, float* y);

// Process-wide switch for bench/float_gemm_bench.cpp, which compares the paths:
// Off (dot kernels only), Default (F32 and BF16), AllFloat (F16 too).
enum class FloatGemm { Off, Default, AllFloat };
void set_float_gemm(FloatGemm mode);

}  // namespace tessel::kernels
