#pragma once
// Prompt batches of float weights through Eigen's GEMM (docs/decisions.md,
// "Eigen for float GEMM"). Internal to the kernels.
#include <cstdint>

#include "tessel/kernels.hpp"

namespace tessel::kernels {

// Fewer activation rows than this stay on the dot kernels (decode, short
// batches): at 16 rows Eigen took 1.3-1.9x the dot kernels' CPU time, at 64
// it was even (F32) or faster (BF16).
inline constexpr int64_t kFloatGemmMinRows = 64;

// y = x · Wᵀ as matmul() defines it, for the weight types where Eigen is the
// faster path; false (nothing written) for every other matrix.
bool float_gemm(ThreadPool& pool, const Matrix& w, const float* x, int64_t n_rows, float* y);

// Process-wide switch: Off (dot kernels only; the default for now), Default
// (F32 and BF16 through Eigen), AllFloat (F16 too). bench/float_gemm_bench.cpp compares them.
enum class FloatGemm { Off, Default, AllFloat };
void set_float_gemm(FloatGemm mode);

}  // namespace tessel::kernels
