#pragma once
// The "gemma2" architecture (general.architecture = gemma2).
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::gemma2 {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::gemma2
