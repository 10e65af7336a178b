// Plugin entry: the "llama" architecture.
#include "llama.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_llama() { return tessel::llama::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "llama", "0.1.0",
              "LLaMA decoder: RMSNorm, RoPE, GQA attention over an F16 KV cache, SwiGLU", "llama",
              make_llama)
