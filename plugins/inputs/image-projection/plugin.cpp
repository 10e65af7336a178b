// Plugin entry: the "image" input adapter (image -> mmproj -> embedding rows).
#include "image.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make() { return tessel::inputs::make_image_adapter(); }
}  // namespace

TESSEL_PLUGIN("input", "image", "0.1.0",
              "Images (PNG/JPEG or .npy) through a multimodal projector (mmproj) into embedding rows",
              "", make)
