#pragma once
// The "qwen2" architecture (general.architecture = qwen2).
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::qwen2 {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::qwen2
