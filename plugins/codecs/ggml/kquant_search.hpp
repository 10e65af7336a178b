#pragma once
// ggml's scale searches for the k-quants (make_qx_quants, make_q3_quants,
// make_qkx2_quants in ggml-quants.c), reimplemented with the same float
// operations in the same order: a different rounding anywhere changes which
// candidate scale wins and so the bytes llama-quantize writes.
#include <cstdint>

namespace tessel::ggml {

// Symmetric levels -nmax..nmax-1 stored as L = l + nmax. Weights: `qw` if
// given, else x*x (rmse_type 1, the only type the reference path uses).
// Returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* qw);

// Q3_K's search: starts from -nmax/max, then improves one level at a time.
// L = l + nmax.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L);

// Asymmetric levels 0..nmax with a min (Q2_K, Q4_K, Q5_K). Returns the scale;
// *the_min receives -min (>= 0). Laux is scratch of n bytes.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                       bool use_mad);

}  // namespace tessel::ggml
