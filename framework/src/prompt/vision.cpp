// Key function of VisionModel: its typeinfo lives here, in libtessel, so
// dynamic_cast works across the plugin modules.
#include "tessel/vision.hpp"

namespace tessel {

VisionModel::~VisionModel() = default;

}  // namespace tessel
