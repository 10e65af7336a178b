// Plugin entry: the "clip" architecture (vision encoder + projector).
#include "clip.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_clip() { return tessel::clip::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "clip", "0.1.0",
              "CLIP/SigLIP vision encoder with the Gemma 3 projector (mmproj files)", "clip",
              make_clip)
