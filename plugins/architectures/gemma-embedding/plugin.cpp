// Plugin entry: the "gemma-embedding" architecture, gemma3's graph as an
// encoder (plugins/architectures/gemma3/gemma3.cpp picks the mode from
// general.architecture).
#include "gemma3.hpp"
TESSEL_PLUGIN("architecture", "gemma-embedding", "0.1.0",
              "EmbeddingGemma encoder: bidirectional sliding/global attention, GeGLU, dense_2/dense_3 heads",
              "gemma-embedding",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::gemma3::make_architecture(true); })
