#pragma once
// The "gemma3" architecture (general.architecture = gemma3): Gemma 3's causal
// text model, the language half of the Gemma 3 multimodal pipeline.
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::gemma3 {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::gemma3
