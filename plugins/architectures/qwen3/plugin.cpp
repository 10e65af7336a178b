// Plugin entry: the "qwen3" architecture.
#include "qwen3.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_qwen3() { return tessel::qwen3::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "qwen3", "0.1.0",
              "Qwen3 decoder: per-head q/k RMSNorm, head size from key_length, NeoX RoPE, SwiGLU",
              "qwen3", make_qwen3)
