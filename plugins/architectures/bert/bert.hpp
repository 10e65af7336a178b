#pragma once
// The "bert" architecture (BERT / BGE / MiniLM encoders), general.architecture = bert.
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::bert {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::bert
