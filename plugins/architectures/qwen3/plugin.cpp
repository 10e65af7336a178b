// Plugin entry: the "qwen3" architecture.
#include "qwen3.hpp"
TESSEL_PLUGIN("architecture", "qwen3", "0.1.0",
              "Qwen3 decoder: per-head q/k RMSNorm, head size from key_length, NeoX RoPE, SwiGLU", "qwen3",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::qwen3::make_architecture(); })
