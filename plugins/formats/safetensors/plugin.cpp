// Plugin entry: the "safetensors" weight format (Hugging Face checkpoint folders).
#include "safetensors.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_safetensors() {
  return std::make_unique<tessel::safetensors::SafetensorsFormat>();
}
}  // namespace

TESSEL_PLUGIN("format", "safetensors", "0.1.0",
              "Hugging Face checkpoints: safetensors shards + config.json + tokenizer.json, seen as GGUF",
              "safetensors", make_safetensors)
