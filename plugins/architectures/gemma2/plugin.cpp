// Plugin entry: the "gemma2" architecture.
#include "gemma2.hpp"
TESSEL_PLUGIN("architecture", "gemma2", "0.1.0",
              "Gemma 2 decoder: attention and final softcaps, post norms, alternating sliding window, GeGLU", "gemma2",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::gemma2::make_architecture(); })
