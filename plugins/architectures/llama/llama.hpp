#pragma once
// The "llama" architecture (general.architecture = llama).
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::llama {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::llama
