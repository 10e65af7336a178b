// Plugin entry: the "llama" architecture.
#include "llama.hpp"
TESSEL_PLUGIN("architecture", "llama", "0.1.0",
              "LLaMA decoder: RMSNorm, RoPE, GQA attention over an F16 KV cache, SwiGLU", "llama",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::llama::make_architecture(); })
