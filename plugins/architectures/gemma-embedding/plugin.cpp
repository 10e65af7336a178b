// Plugin entry: the "gemma-embedding" architecture.
#include "gemma_embedding.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make() { return tessel::gemma_embedding::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "gemma-embedding", "0.1.0",
              "EmbeddingGemma encoder: bidirectional sliding/global attention, GeGLU, dense_2/dense_3 heads",
              "gemma-embedding", make)
