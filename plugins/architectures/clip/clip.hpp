#pragma once
// The "clip" architecture (general.architecture = clip): llama.cpp's mmproj
// files, a ViT vision encoder plus a multimodal projector. load() returns a
// tessel::VisionModel (tessel/vision.hpp).
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::clip {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::clip
