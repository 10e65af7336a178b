// Plugin entry: the "qwen2" architecture.
#include "qwen2.hpp"
TESSEL_PLUGIN("architecture", "qwen2", "0.1.0",
              "Qwen2 / Qwen2.5 decoder: q/k/v biases, NeoX RoPE, GQA, SwiGLU", "qwen2",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::qwen2::make_architecture(); })
