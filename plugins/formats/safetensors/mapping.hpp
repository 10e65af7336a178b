#pragma once
// How a Hugging Face architecture maps onto GGUF: config.json keys to
// `<arch>.*` metadata, tensor names to GGUF names, and the byte transforms
// llama.cpp's convert_hf_to_gguf.py applies on the way. One table per
// architecture (arch_*.cpp); docs/formats.md lists them.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tessel/metadata.hpp"

namespace tessel::safetensors {

// config.json with errors that name the file and the key.
class Config {
 public:
  Config(nlohmann::json j, std::string file);
  const nlohmann::json& raw() const { return j_; }
  const std::string& file() const { return file_; }
  bool has(const std::string& key) const;
  // Throw "<file>: missing key 'k' (needed for <why>)" when absent or of the wrong type.
  int64_t integer(const std::string& key, const std::string& why) const;
  double number(const std::string& key, const std::string& why) const;
  std::optional<int64_t> integer_opt(const std::string& key) const;
  std::optional<double> number_opt(const std::string& key) const;
  std::optional<bool> boolean_opt(const std::string& key) const;
  // The first of `keys` present (HF configs name the same thing several ways).
  std::optional<int64_t> first_integer(std::initializer_list<const char*> keys) const;
  // rope_parameters (transformers 5) or rope_scaling + rope_theta (earlier): {} when neither.
  nlohmann::json rope_parameters() const;

 private:
  nlohmann::json j_;
  std::string file_;
};

// What happens to a tensor's bytes between the checkpoint and the ModelFile.
enum class Transform {
  None,        // zero-copy view of the mapping
  PermuteQ,    // rotate-half -> interleaved RoPE rows, n_head heads (llama's q_proj)
  PermuteK,    // the same with n_head_kv heads (k_proj)
  AddOne,      // w -> 1 + w, stored F32 (Gemma's RMSNorm weights)
};

// "model.layers.{N}.self_attn.q_proj.weight" -> "blk.{N}.attn_q.weight".
struct TensorRule {
  std::string hf;
  std::string gguf;
  Transform transform = Transform::None;
};

// A tensor the mapping adds that the checkpoint does not hold (llama 3's rope_freqs).
struct ExtraTensor {
  std::string name;
  std::vector<int64_t> shape;   // HF order
  std::vector<float> values;
};

struct ArchMapping {
  std::vector<std::string> hf_classes;   // config.json "architectures"[0]
  std::string gguf_arch;                 // general.architecture
  std::vector<TensorRule> rules;
  std::vector<std::string> skipped;      // HF tensors GGUF does not carry (name patterns)
  // config.json -> <arch>.* keys (general.* and tokenizer.* are done by the caller).
  std::function<void(const Config&, Metadata&)> hparams;
  std::function<std::vector<ExtraTensor>(const Config&)> extra;   // may be empty
};

// Every mapping, and the one for a config's "architectures"[0] (throws listing the known ones).
const std::vector<ArchMapping>& mappings();
const ArchMapping& mapping_for(const Config& cfg);

// Matches `name` against a rule pattern with one {N}; fills `layer`.
bool match_pattern(const std::string& pattern, const std::string& name, std::string& layer);

// Architecture tables, one per file.
ArchMapping llama_mapping();
ArchMapping qwen2_mapping();
ArchMapping qwen3_mapping();
ArchMapping gemma3_mapping();
ArchMapping bert_mapping();

// Shared config.json -> GGUF keys that TextModel.set_gguf_parameters writes
// for every decoder: context, embedding, block count, ff, heads, rope base and
// scaling, rms eps, head_dim as key/value length.
void common_hparams(const Config& cfg, const std::string& arch, Metadata& m);

}  // namespace tessel::safetensors
