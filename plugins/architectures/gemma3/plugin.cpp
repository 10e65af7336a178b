// Plugin entry: the "gemma3" architecture.
#include "gemma3.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_gemma3() { return tessel::gemma3::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "gemma3", "0.1.0",
              "Gemma 3 text decoder: q/k norms, pre/post norms, GeGLU, sliding-window layers",
              "gemma3", make_gemma3)
