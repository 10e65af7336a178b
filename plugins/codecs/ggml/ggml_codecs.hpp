#pragma once
// The ggml codec family: every element type llama.cpp's CPU backend reads,
// with ggml's exact dequantization, reference quantization and dot products.
// Unit tests and the plugin entry use this header; everything else reaches the
// codecs through the registry (tessel::load_codecs).
#include <cstddef>
#include <vector>

#include "tessel/codec.hpp"

namespace tessel::ggml {

// One type's kernels as plain functions; n is a multiple of the block size.
struct Kernels {
  TypeId type;
  TypeId dot_type;
  void (*to_float)(const void* src, float* dst, size_t n);
  void (*from_float)(const float* src, void* dst, size_t n);
  float (*dot)(const void* w_row, const void* act_row, size_t n);
  // Optional Codec::dot_rows (set by the SIMD table, simd_dots.hpp).
  void (*dot_rows)(const void* w_row, const void* act, size_t act_stride, size_t n_act, size_t n,
                   float* out, size_t out_stride) = nullptr;
  // Optional Codec::dot_weights (set by the SIMD table for float types).
  void (*dot_weights)(const void* w, size_t w_stride, size_t n_w, const void* act, size_t n,
                      float* out) = nullptr;
};

// Every codec this family serves (static storage, never null entries).
const std::vector<const Codec*>& all_codecs();
// nullptr when the type is not served.
const Codec* find_codec(TypeId t);

// Per-file kernel tables, gathered by all_codecs().
void add_float_kernels(std::vector<Kernels>& out);   // F32, F16, BF16
void add_legacy_kernels(std::vector<Kernels>& out);  // Q4_0 ... Q8_1
void add_kquant_kernels(std::vector<Kernels>& out);  // Q2_K ... Q8_K

}  // namespace tessel::ggml
