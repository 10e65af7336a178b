// Plugin entry: the "phi3" architecture.
#include "phi3.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_phi3() { return tessel::phi3::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "phi3", "0.1.0",
              "Phi-3 / Phi-3.5 decoder: fused qkv and gate+up, NeoX RoPE, LongRoPE factors",
              "phi3", make_phi3)
