// Plugin entry: the "gemma3" architecture.
#include "gemma3.hpp"
TESSEL_PLUGIN("architecture", "gemma3", "0.1.0",
              "Gemma 3 text decoder: q/k norms, pre/post norms, GeGLU, sliding-window layers", "gemma3",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::gemma3::make_architecture(false); })
