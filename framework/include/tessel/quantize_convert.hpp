#pragma once
// Converting a whole model to a llama-quantize preset (policy from
// quantize.hpp, rounding from the codec plugins). Shared by `tessel quantize`
// (from a file) and `tessel synth` (from memory).
#include <functional>
#include <string>
#include <vector>

#include "tessel/codec.hpp"
#include "tessel/quantize.hpp"
#include "tessel/tensor.hpp"

namespace tessel::quantize {

// ggml's GGML_QNT_VERSION: the layout version of the quantized blocks.
inline constexpr uint32_t kQuantizationVersion = 2;

// A model converted to a preset, ready for WeightFormat::write: `tensors`
// view `buffers` (converted) or the source file (copied as is).
struct Converted {
  Metadata meta;
  std::vector<TensorToWrite> tensors;
  std::vector<std::vector<std::byte>> buffers;
  size_t bytes_in = 0, bytes_out = 0;
};

// Applies choose_types() and the codecs' reference rounding to every tensor,
// in llama-quantize's order, rows split over `threads`. `progress(done,
// total, name)` before each tensor; `warn` for policy fallbacks; `overrides`
// as llama-quantize's --pure / --output-tensor-type / --token-embedding-type.
Converted convert_model(const ModelFile& file, const Preset& preset, const CodecSet& codecs, int threads,
                        bool allow_requantize = false,
                        const std::function<void(size_t, size_t, const std::string&)>& progress = {},
                        const std::function<void(const std::string&)>& warn = {},
                        const Overrides& overrides = {});

}  // namespace tessel::quantize
