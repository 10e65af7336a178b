// The mapping registry and what every decoder's mapping shares: config.json
// access with precise errors and the hyperparameters llama.cpp's
// TextModel.set_gguf_parameters writes for all of them.
#include "mapping.hpp"

#include "tessel/error.hpp"

namespace tessel::safetensors {

using json = nlohmann::json;

Config::Config(json j, std::string file) : j_(std::move(j)), file_(std::move(file)) {
  // Multimodal checkpoints (Gemma3ForConditionalGeneration) keep the text
  // model's hyperparameters in text_config; the text model is what we map.
  if (j_.contains("text_config") && j_["text_config"].is_object())
    for (const auto& [k, v] : j_["text_config"].items())
      if (!j_.contains(k) || k != "architectures") j_[k] = v;
}

bool Config::has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }

int64_t Config::integer(const std::string& key, const std::string& why) const {
  if (!has(key)) throw Error(file_ + ": missing key '" + key + "' (needed for " + why + ")");
  if (!j_[key].is_number_integer())
    throw Error(file_ + ": key '" + key + "' is " + j_[key].dump() + "; expected an integer");
  return j_[key].get<int64_t>();
}

double Config::number(const std::string& key, const std::string& why) const {
  if (!has(key)) throw Error(file_ + ": missing key '" + key + "' (needed for " + why + ")");
  if (!j_[key].is_number()) throw Error(file_ + ": key '" + key + "' is " + j_[key].dump() + "; expected a number");
  return j_[key].get<double>();
}

std::optional<int64_t> Config::integer_opt(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!j_[key].is_number_integer())
    throw Error(file_ + ": key '" + key + "' is " + j_[key].dump() + "; expected an integer");
  return j_[key].get<int64_t>();
}

std::optional<double> Config::number_opt(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!j_[key].is_number()) throw Error(file_ + ": key '" + key + "' is " + j_[key].dump() + "; expected a number");
  return j_[key].get<double>();
}

std::optional<bool> Config::boolean_opt(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!j_[key].is_boolean()) throw Error(file_ + ": key '" + key + "' is " + j_[key].dump() + "; expected true or false");
  return j_[key].get<bool>();
}

std::optional<int64_t> Config::first_integer(std::initializer_list<const char*> keys) const {
  for (const char* k : keys)
    if (auto v = integer_opt(k)) return v;
  return std::nullopt;
}

json Config::rope_parameters() const {
  json p = json::object();
  if (has("rope_parameters") && j_["rope_parameters"].is_object()) {
    p = j_["rope_parameters"];
  } else if (has("rope_scaling") && j_["rope_scaling"].is_object()) {
    p = j_["rope_scaling"];
  }
  // Older configs call the kind "type"; the theta sits at the top level.
  if (!p.contains("rope_type") && p.contains("type")) p["rope_type"] = p["type"];
  if (!p.contains("rope_theta") && has("rope_theta")) p["rope_theta"] = j_["rope_theta"];
  if (!p.is_object()) throw Error(file_ + ": rope_scaling is not an object");
  return p;
}

bool match_pattern(const std::string& pattern, const std::string& name, std::string& layer) {
  const size_t at = pattern.find("{N}");
  if (at == std::string::npos) return pattern == name;
  const std::string head = pattern.substr(0, at), tail = pattern.substr(at + 3);
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  layer = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (layer.empty() || layer.size() > 6) return false;
  for (char c : layer)
    if (c < '0' || c > '9') return false;
  return true;
}

void common_hparams(const Config& cfg, const std::string& arch, Metadata& m) {
  const std::string a = arch + ".";
  const std::string why = arch;
  m.set(a + "block_count", MetaValue::of_u32(uint32_t(cfg.integer("num_hidden_layers", why))));
  if (auto n = cfg.first_integer({"max_position_embeddings", "n_ctx", "n_positions"}))
    m.set(a + "context_length", MetaValue::of_u32(uint32_t(*n)));
  m.set(a + "embedding_length", MetaValue::of_u32(uint32_t(cfg.integer("hidden_size", why))));
  m.set(a + "feed_forward_length", MetaValue::of_u32(uint32_t(cfg.integer("intermediate_size", why))));
  m.set(a + "attention.head_count", MetaValue::of_u32(uint32_t(cfg.integer("num_attention_heads", why))));
  if (auto kv = cfg.integer_opt("num_key_value_heads"))
    m.set(a + "attention.head_count_kv", MetaValue::of_u32(uint32_t(*kv)));
  const json rope = cfg.rope_parameters();
  const std::string rope_type = rope.value("rope_type", "");
  if (rope.contains("factor") && rope["factor"].is_number()) {
    const float factor = rope["factor"].get<float>();
    if (rope_type == "linear") {
      m.set(a + "rope.scaling.type", MetaValue::of_string("linear"));
      m.set(a + "rope.scaling.factor", MetaValue::of_f32(factor));
    } else if (rope_type == "yarn") {
      m.set(a + "rope.scaling.type", MetaValue::of_string("yarn"));
      m.set(a + "rope.scaling.factor", MetaValue::of_f32(factor));
      if (rope.contains("original_max_position_embeddings") && rope["original_max_position_embeddings"].is_number_integer())
        m.set(a + "rope.scaling.original_context_length",
              MetaValue::of_u32(rope["original_max_position_embeddings"].get<uint32_t>()));
    }
  }
  if (rope.contains("rope_theta") && rope["rope_theta"].is_number())
    m.set(a + "rope.freq_base", MetaValue::of_f32(rope["rope_theta"].get<float>()));
  if (auto eps = cfg.number_opt("rms_norm_eps"))
    m.set(a + "attention.layer_norm_rms_epsilon", MetaValue::of_f32(float(*eps)));
  if (auto hd = cfg.integer_opt("head_dim")) {
    m.set(a + "attention.key_length", MetaValue::of_u32(uint32_t(*hd)));
    m.set(a + "attention.value_length", MetaValue::of_u32(uint32_t(*hd)));
  }
}

const std::vector<ArchMapping>& mappings() {
  static const std::vector<ArchMapping> all = {llama_mapping(), qwen2_mapping(), qwen3_mapping(),
                                               gemma3_mapping(), bert_mapping()};
  return all;
}

const ArchMapping& mapping_for(const Config& cfg) {
  const json& j = cfg.raw();
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
      !j["architectures"][0].is_string())
    throw Error(cfg.file() + ": missing key 'architectures' (a list naming the model class, e.g. [\"LlamaForCausalLM\"])");
  const std::string cls = j["architectures"][0].get<std::string>();
  std::string known;
  for (const auto& m : mappings())
    for (const auto& c : m.hf_classes) {
      if (c == cls) return m;
      known += (known.empty() ? "" : ", ") + c;
    }
  throw Error(cfg.file() + ": architectures[0] '" + cls + "' has no mapping to a GGUF architecture (known: " + known + ")");
}

}  // namespace tessel::safetensors
