// Plugin entry: the "clip" architecture (vision encoder + projector).
#include "clip.hpp"
TESSEL_PLUGIN("architecture", "clip", "0.1.0",
              "CLIP/SigLIP vision encoder with the Gemma 3 projector (mmproj files)", "clip",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::clip::make_architecture(); })
