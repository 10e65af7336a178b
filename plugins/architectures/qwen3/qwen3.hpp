#pragma once
// The "qwen3" architecture (general.architecture = qwen3).
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::qwen3 {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::qwen3
