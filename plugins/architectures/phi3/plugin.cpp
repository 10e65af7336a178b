// Plugin entry: the "phi3" architecture.
#include "phi3.hpp"
TESSEL_PLUGIN("architecture", "phi3", "0.1.0",
              "Phi-3 / Phi-3.5 decoder: fused qkv and gate+up, NeoX RoPE, LongRoPE factors", "phi3",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::phi3::make_architecture(); })
