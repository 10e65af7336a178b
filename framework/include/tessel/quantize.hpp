#pragma once
// llama-quantize's presets and per-tensor type policy (llama_tensor_get_type
// in llama.cpp's src/llama-quant.cpp, without imatrix or overrides), so
// `tessel quantize` picks the same type for every tensor as llama-quantize.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessel/metadata.hpp"
#include "tessel/tensor.hpp"
#include "tessel/types.hpp"

namespace tessel::quantize {

// A preset ("Q4_K_M"): its llama_ftype number (general.file_type) and the
// default tensor type the policy starts from.
struct Preset {
  std::string_view name;
  uint32_t ftype;
  TypeId default_type;
};

const std::vector<Preset>& presets();
// Case-insensitive; nullptr when unknown.
const Preset* find_preset(std::string_view name);
// "Q8_0, Q4_0, ..." for error messages.
std::string preset_names();

// The hyperparameters the policy looks at, read from a model's metadata.
struct ModelInfo {
  std::string arch;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_expert = 0;
  int n_gqa() const { return n_head_kv > 0 ? n_head / n_head_kv : 0; }
};
ModelInfo model_info(const Metadata& meta);

// The order llama-quantize visits and writes tensors: tensors outside any
// block first, then block by block (blk.N.), by name within each group.
std::vector<size_t> tensor_order(const std::vector<TensorInfo>& tensors);

struct Choice {
  TypeId type;
  bool quantize;          // false: the tensor is copied as is
  std::string warning;    // non-empty when a shape forced a fallback type
};

// llama-quantize's --pure, --output-tensor-type and --token-embedding-type.
struct Overrides {
  bool pure = false;                       // every quantizable tensor gets the default type
  std::optional<TypeId> output_type;       // output.weight (and tied token_embd)
  std::optional<TypeId> token_embd_type;   // token_embd.weight
};

// Target type of every tensor of `ordered` (in tensor_order), as
// llama-quantize would choose for `preset`. Throws tessel::Error when a
// tensor's row length fits no type llama-quantize would fall back to.
std::vector<Choice> choose_types(const Preset& preset, const ModelInfo& info,
                                 const std::vector<const TensorInfo*>& ordered,
                                 const Overrides& overrides = {});

}  // namespace tessel::quantize
