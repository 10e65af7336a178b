// Plugin entry: the "embeddings" input adapter.
#include "embeddings.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make() { return tessel::inputs::make_embeddings_adapter(); }
}  // namespace

TESSEL_PLUGIN("input", "embeddings", "0.1.0",
              "Raw embedding rows (llama_batch.embd) from .npy, raw f32 or embedding JSON", "",
              make)
