#pragma once
// The "phi3" architecture (general.architecture = phi3).
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::phi3 {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::phi3
