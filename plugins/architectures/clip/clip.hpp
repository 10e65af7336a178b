#pragma once
// The "clip" architecture (general.architecture = clip): llama.cpp's mmproj
// files, a ViT vision encoder plus a multimodal projector. load() returns a
// tessel::VisionModel (tessel/vision.hpp).
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::clip {

std::unique_ptr<Architecture> make_architecture();

// tessel synth: an mmproj file with the Gemma 3 projector, patch 14; the
// preset's n_ctx is the image side in pixels, n_vocab the projected width.
SynthRecipe synth_recipe(const SynthPreset& p);

}  // namespace tessel::clip
