// Plugin entry: the "gemma2" architecture.
#include "gemma2.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_gemma2() { return tessel::gemma2::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "gemma2", "0.1.0",
              "Gemma 2 decoder: attention and final softcaps, post norms, alternating sliding window, GeGLU",
              "gemma2", make_gemma2)
