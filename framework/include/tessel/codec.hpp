#pragma once
// Plugin kind "codec": encodes and decodes one ggml element type. One codec
// plugin (a CodecProvider) may serve many types.
#include <cstddef>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "tessel/plugin.hpp"
#include "tessel/types.hpp"

namespace tessel {

class ThreadPool;

// A weight matrix rearranged by its codec for fast multiplication (rows
// interleaved so one int8 instruction yields several outputs, scales beside
// them). Built once at load; the activations use the packed kernels' own
// quantized format (quantize_act), so no codec-specific layout leaks out.
class PackedMatrix {
 public:
  virtual ~PackedMatrix() = default;
  // Output rows come in groups of this many; multiply() ranges start on one.
  virtual size_t row_group() const = 0;
  // Bytes of one quantized activation row.
  virtual size_t act_bytes() const = 0;
  // One row of n_in floats into act_bytes() bytes.
  virtual void quantize_act(const float* x, void* act) const = 0;
  // y[r * y_stride + o] = W row o . activation row r, for o in [o_begin, o_end)
  // and r < n_act; act rows are act_bytes() apart.
  virtual void multiply(const void* act, size_t n_act, size_t o_begin, size_t o_end, float* y,
                        size_t y_stride) const = 0;
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual TypeId type() const = 0;
  virtual size_t block_elems() const = 0;   // 1, 32 or 256
  virtual size_t block_bytes() const = 0;
  // n is a multiple of block_elems().
  virtual void to_float(const void* src, float* dst, size_t n) const = 0;
  // ggml's reference rounding (quantize_row_*_ref), so outputs are byte-identical.
  virtual void from_float(const float* src, void* dst, size_t n) const = 0;
  // Activations are quantized to this type before dot(): Q8_0 for the
  // 32-element blocks, Q8_1 for Q4_1/Q5_1, Q8_K for k-quants, F16 for F16 ...
  virtual TypeId dot_type() const = 0;
  // Dot product of one weight row with one activation row already encoded in
  // dot_type(); n elements.
  virtual float dot(const void* w_row, const void* act_row, size_t n) const = 0;
  // out[r * out_stride] = dot(w_row, act + r * act_stride, n) for r < n_act:
  // one weight row against several activation rows, so SIMD codecs can load
  // and unpack each weight block once per tile (prompt processing).
  virtual void dot_rows(const void* w_row, const void* act, size_t act_stride, size_t n_act,
                        size_t n, float* out, size_t out_stride) const {
    const auto* a = static_cast<const std::byte*>(act);
    for (size_t r = 0; r < n_act; ++r) out[r * out_stride] = dot(w_row, a + r * act_stride, n);
  }
  // out[o] = dot(w + o * w_stride, act, n) for o < n_w: several weight rows
  // against one activation row (decode of unpacked types), so SIMD codecs
  // convert each activation block once for several rows. Bit for bit dot().
  virtual void dot_weights(const void* w, size_t w_stride, size_t n_w, const void* act, size_t n,
                           float* out) const {
    const auto* p = static_cast<const std::byte*>(w);
    for (size_t o = 0; o < n_w; ++o) out[o] = dot(p + o * w_stride, act, n);
  }
  // A packed copy of the [n_out rows x n_in] weight matrix at w, or null when
  // this codec (or this CPU) has no packed kernels for it. pool (optional)
  // splits the copying.
  virtual std::unique_ptr<PackedMatrix> pack(const void* /*w*/, size_t /*n_out*/, size_t /*n_in*/,
                                             ThreadPool* /*pool*/ = nullptr) const {
    return nullptr;
  }
  // Importance-weighted quantization (llama-quantize's imatrix path); default
  // ignores the weights.
  virtual void from_float_weighted(const float* src, void* dst, size_t n,
                                   const float* /*importance*/) const {
    from_float(src, dst, n);
  }
};

class CodecProvider : public PluginObject {
 public:
  virtual std::vector<const Codec*> codecs() const = 0;  // owned by the provider
};

// Codecs by type, gathered from every loaded codec plugin.
class CodecSet {
 public:
  void add(const Codec* c) { by_type_[c->type()] = c; }
  const Codec* find(TypeId t) const {
    auto it = by_type_.find(t);
    return it == by_type_.end() ? nullptr : it->second;
  }
  // Throws tessel::Error naming `what` (e.g. a tensor name) and the type.
  const Codec& get(TypeId t, std::string_view what = {}) const;
  std::vector<TypeId> types() const;

  // Keeps the providing plugins loaded while this set lives.
  std::vector<std::shared_ptr<const CodecProvider>> owners;

 private:
  std::map<TypeId, const Codec*> by_type_;
};

}  // namespace tessel
