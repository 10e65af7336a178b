#pragma once
// Packed weight layouts for prompt processing and decode (see packed_x86.cpp):
// 16 weight rows interleaved four bytes at a time, so one AVX-512 VNNI
// vpdpbusd multiplies four weights of each of 16 rows by four broadcast
// activation bytes, and every output lane is one weight row.
#include <cstddef>
#include <memory>

#include "tessel/codec.hpp"

namespace tessel::ggml {

// Packed kernels for `type` on this CPU, or null (type not packed, CPU
// without AVX-512 VNNI, or n_in not a whole number of blocks).
// pool (optional) splits the copying over its threads.
std::unique_ptr<PackedMatrix> pack_matrix(TypeId type, const void* w, size_t n_out, size_t n_in,
                                          ThreadPool* pool = nullptr);

// The AVX2 layouts (8 rows per group, packed_avx2.cpp) for CPUs without
// AVX-512 VNNI; null when the CPU lacks AVX2/FMA/F16C or the type has none.
std::unique_ptr<PackedMatrix> pack_matrix_avx2(TypeId type, const void* w, size_t n_out, size_t n_in,
                                               ThreadPool* pool = nullptr);

// The K-quants (Q2_K .. Q6_K) for AVX2 (packed_kquant_avx2.cpp), reached
// through pack_matrix_avx2; null for other types.
std::unique_ptr<PackedMatrix> pack_kquant_avx2(TypeId type, const void* w, size_t n_out, size_t n_in,
                                               ThreadPool* pool = nullptr);

// F32, F16 and BF16 for AVX2 + FMA CPUs (packed_float_avx2.cpp, 16 rows per group),
// reached through pack_matrix_avx2; null for other types.
std::unique_ptr<PackedMatrix> pack_float_avx2(TypeId type, const void* w, size_t n_out, size_t n_in,
                                              ThreadPool* pool = nullptr);

}  // namespace tessel::ggml
